/**
 * The plist value model shared by every codec and every layer.
 *
 * Canonical forms (what the decoders return, so decode(encode(v)) deep-equals v):
 * - integer: `number` when it is a safe integer (|n| <= 2^53 - 1), else `bigint`.
 *   Wire integers are 1/2/4/8-byte signed or 16-byte; see `asSignedCode` for status codes.
 * - real: always a `PlistReal` (so 2.0 stays a real both ways). The encoders also accept a plain
 *   non-integer `number` as a real, for convenience.
 * - string: `string`; data: `Uint8Array`; date: `Date`; boolean: `boolean`; UID: `PlistUid`.
 * - array: `PlistValue[]`; dict: a plain object whose values are PlistValue.
 */

export class PlistReal {
  constructor(readonly value: number) {}
}

export class PlistUid {
  constructor(readonly value: number) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError('UID must be an integer from 0 to 2^32-1');
    }
  }
}

export type PlistValue =
  string | number | bigint | boolean | Date | Uint8Array | PlistReal | PlistUid | PlistValue[] | PlistDict;

export interface PlistDict {
  [key: string]: PlistValue;
}

/** Wraps a number as a real (a float on the wire even when it is whole, like 2.0). */
export function real(value: number): PlistReal {
  return new PlistReal(value);
}

/** Wraps a number as a UID (NSKeyedArchiver object references). */
export function uid(value: number): PlistUid {
  return new PlistUid(value);
}

export function isPlistDict(v: PlistValue | undefined): v is PlistDict {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date) &&
    !(v instanceof PlistReal) &&
    !(v instanceof PlistUid)
  );
}

/** A value's type in words, for error messages ("a dict", "data"; "nothing" for a missing value). */
export function describePlistType(v: PlistValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'data';
  if (v instanceof Date) return 'a date';
  if (v instanceof PlistReal) return 'a real';
  if (v instanceof PlistUid) return 'a UID';
  if (isPlistDict(v)) return 'a dict';
  return `a ${typeof v}`;
}

/** A JS number for an integer or a real value; undefined for anything else. */
export function numberValue(v: PlistValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PlistReal) return v.value;
  return undefined;
}

/**
 * A signed 64-bit status code: libplist writes negative codes as unsigned 64-bit values
 * (-13 arrives as 2^64 - 13); this turns them back into -13. Returns undefined for non-integers.
 */
export function asSignedCode(v: PlistValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(BigInt.asIntN(64, v));
  return undefined;
}
