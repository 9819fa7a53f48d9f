/** Small pieces shared by the binary and XML plist codecs. */
import { IbackupError } from '../../errors.js';
import { PlistReal, PlistUid, type PlistDict, type PlistValue } from './types.js';

/** 2001-01-01T00:00:00Z (Apple's reference date) in Unix milliseconds. */
export const APPLE_EPOCH_MS = 978_307_200_000;

/** Largest and smallest `Date` time values (ECMAScript time range). */
export const MAX_DATE_MS = 8.64e15;

export const INT64_MIN = -(2n ** 63n);
export const UINT64_MAX = 2n ** 64n - 1n;

/** A value given to a plist encoder that it cannot represent. */
export function encodeError(what: string): IbackupError {
  return new IbackupError('INTERNAL', { message: `Cannot encode a plist: ${what}.` });
}

/** The canonical form of an integer: a number when it is safe, else a bigint. */
export function canonicalInt(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Sets a dict entry, also for the key "__proto__" (which plain assignment would swallow). */
export function setEntry(dict: PlistDict, key: string, value: PlistValue): void {
  if (key === '__proto__') {
    Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    dict[key] = value;
  }
}

/** What kind of plist value `v` is, for the encoders; throws for anything that is not a PlistValue. */
export type ValueKind = 'string' | 'int' | 'real' | 'bool' | 'date' | 'data' | 'uid' | 'array' | 'dict';

export function kindOf(v: unknown): ValueKind {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'real';
    case 'bigint':
      return 'int';
    case 'boolean':
      return 'bool';
    case 'object': {
      if (v === null) break;
      if (Array.isArray(v)) return 'array';
      if (v instanceof Uint8Array) return 'data';
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw encodeError('an invalid Date');
        return 'date';
      }
      if (v instanceof PlistReal) return 'real';
      if (v instanceof PlistUid) return 'uid';
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) return 'dict';
      break;
    }
    default:
      break;
  }
  throw encodeError(`a value of type ${v === null ? 'null' : typeof v} is not a plist value`);
}

/** An integer value (number or bigint) as a bigint, checked to fit the 64-bit wire range. */
export function intAsBigint(v: number | bigint): bigint {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  if (b < INT64_MIN || b > UINT64_MAX) throw encodeError(`integer ${b} is outside -2^63..2^64-1`);
  return b;
}

/** The numeric value of a real (a PlistReal or a plain non-integer number). */
export function realValue(v: PlistValue): number {
  return v instanceof PlistReal ? v.value : (v as number);
}
