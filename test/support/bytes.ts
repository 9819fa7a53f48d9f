/** Byte helpers shared by the codec tests: hand-written byte specs and chunkings of a sample. */
import assert from 'node:assert/strict';
import fc from 'fast-check';

/** Bytes from hex pairs and quoted ASCII, e.g. `00 00 00 05 "HELLO"`. */
export function bytes(spec: string): Uint8Array {
  const out: number[] = [];
  for (const m of spec.matchAll(/"([^"]*)"|([0-9A-Fa-f]{2})/g)) {
    if (m[1] !== undefined) for (const c of m[1]) out.push(c.charCodeAt(0));
    else out.push(parseInt(m[2] ?? '', 16));
  }
  return Uint8Array.from(out);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** `buf` cut at the given offsets (any order, duplicates allowed). */
export function cutAt(buf: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [0, ...[...offsets].sort((x, y) => x - y), buf.length];
  return points.slice(1).map((end, i) => buf.subarray(points[i], end));
}

/** Decodes `sample` split in two at every offset, then cut at random offsets: always `expected`. */
export function assertEveryChunking<T>(
  sample: Uint8Array,
  decode: (chunks: Uint8Array[]) => T,
  expected: T,
  maxCuts = 40,
): void {
  for (let n = 0; n <= sample.length; n++)
    assert.deepEqual(decode([sample.subarray(0, n), sample.subarray(n)]), expected, `split at ${n}`);
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: sample.length }), { maxLength: maxCuts }), (cuts) => {
      assert.deepEqual(decode(cutAt(sample, cuts)), expected);
    }),
  );
}

/** A string field of Manifest.mbdb: 16-bit big-endian length then the bytes; 0xFFFF for none. */
export function mbdbString(s: string | Uint8Array | null): number[] {
  if (s === null) return [0xff, 0xff];
  const b = typeof s === 'string' ? [...new TextEncoder().encode(s)] : [...s];
  return [b.length >> 8, b.length & 0xff, ...b];
}

/** `n` as `bytes` big-endian bytes. */
export function bigEndian(n: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = bytes - 1; i >= 0; i--) out.push(Number((BigInt(n) >> BigInt(8 * i)) & 0xffn));
  return out;
}
