/** Shared helpers for the plist tests: an independent bplist00 assembler. */

const MAGIC = [0x62, 0x70, 0x6c, 0x69, 0x73, 0x74, 0x30, 0x30]; // "bplist00"

/** `n` as a big-endian unsigned integer of `size` bytes. */
export function be(n: number, size: number): number[] {
  const out: number[] = [];
  for (let i = size - 1; i >= 0; i--) out.push(Math.floor(n / 256 ** i) % 256);
  return out;
}

export interface AssembleOptions {
  top?: number;
  /** Bytes per offset-table entry (default 1). */
  offsetSize?: number;
  /** Object-reference size written in the trailer (default 1); refs inside objects are the caller's. */
  refSize?: number;
}

/**
 * A tiny independent assembler: objects laid out in order after the magic, the offset table
 * and a trailer. Only for test vectors.
 */
export function assemble(objects: number[][], opts: AssembleOptions | number = {}): Uint8Array {
  const o = typeof opts === 'number' ? { top: opts } : opts;
  const offsetSize = o.offsetSize ?? 1;
  const body: number[] = [...MAGIC];
  const offsets: number[] = [];
  for (const obj of objects) {
    offsets.push(body.length);
    for (const b of obj) body.push(b);
  }
  const tableStart = body.length;
  for (const off of offsets) for (const b of be(off, offsetSize)) body.push(b);
  body.push(0, 0, 0, 0, 0, 0, offsetSize, o.refSize ?? 1);
  body.push(...be(objects.length, 8), ...be(o.top ?? 0, 8), ...be(tableStart, 8));
  return Uint8Array.from(body);
}

/** A copy of a binary plist with trailer fields replaced. */
export function withTrailer(
  bytes: Uint8Array,
  fields: { offsetSize?: number; refSize?: number; numObjects?: bigint; top?: bigint; tableStart?: bigint },
): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const t = out.length - 32;
  if (fields.offsetSize !== undefined) out[t + 6] = fields.offsetSize;
  if (fields.refSize !== undefined) out[t + 7] = fields.refSize;
  if (fields.numObjects !== undefined) view.setBigUint64(t + 8, fields.numObjects);
  if (fields.top !== undefined) view.setBigUint64(t + 16, fields.top);
  if (fields.tableStart !== undefined) view.setBigUint64(t + 24, fields.tableStart);
  return out;
}
