/** Shared helpers for the plist tests: an independent bplist00 assembler. */

const MAGIC = [0x62, 0x70, 0x6c, 0x69, 0x73, 0x74, 0x30, 0x30]; // "bplist00"

function u64(n: number): number[] {
  const out: number[] = [];
  for (let i = 7; i >= 0; i--) out.push(Math.floor(n / 256 ** i) % 256);
  return out;
}

/**
 * A tiny independent assembler: objects laid out in order after the magic, a 1-byte offset table
 * and a trailer (offset size 1, reference size 1). Only for small test vectors.
 */
export function assemble(objects: number[][], top = 0): Uint8Array {
  const body: number[] = [...MAGIC];
  const offsets: number[] = [];
  for (const o of objects) {
    offsets.push(body.length);
    body.push(...o);
  }
  const tableStart = body.length;
  body.push(...offsets);
  body.push(0, 0, 0, 0, 0, 0, 1, 1, ...u64(objects.length), ...u64(top), ...u64(tableStart));
  return Uint8Array.from(body);
}
