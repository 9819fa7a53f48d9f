/**
 * Format headers for generated media files: the first bytes of a file whose rest is seeded noise,
 * so `file`-style sniffing sees a QuickTime movie, an M4A, a HEIF image or a PDF.
 */

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** An ISO/QuickTime `ftyp` box (brand, version 0, compatible brands). */
function ftyp(brand: string, compatible: readonly string[]): Uint8Array {
  const length = 16 + 4 * compatible.length;
  const box = new Uint8Array(length);
  new DataView(box.buffer).setUint32(0, length);
  box.set(ascii(`ftyp${brand}`), 4);
  box.set(compatible.flatMap(ascii), 16);
  return box;
}

/** What a known extension's header starts with: an ISO `ftyp` box (an `mdat` header follows), or fixed bytes. */
const HEADS: ReadonlyMap<string, { iso: Uint8Array } | { fixed: Uint8Array }> = new Map([
  ['mov', { iso: ftyp('qt  ', ['qt  ']) }],
  ['mp4', { iso: ftyp('mp42', ['mp41', 'mp42', 'isom']) }],
  ['m4a', { iso: ftyp('M4A ', ['M4A ', 'mp42', 'isom']) }],
  ['heic', { iso: ftyp('heic', ['mif1', 'heic']) }],
  ['pdf', { fixed: Uint8Array.from([...ascii('%PDF-1.7\n%'), 0xe2, 0xe3, 0xcf, 0xd3, 0x0a]) }],
  ['amr', { fixed: Uint8Array.from(ascii('#!AMR\n')) }],
]);

const MDAT = ascii('mdat');

/** The `ftyp` box followed by the header of a 64-bit-sized `mdat` box holding the rest of the file. */
function isoMedia(box: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(box.length + 16);
  const view = new DataView(out.buffer);
  out.set(box);
  view.setUint32(box.length, 1);
  out.set(MDAT, box.length + 4);
  const mdatLength = Math.max(16, size - box.length);
  view.setUint32(box.length + 8, Math.floor(mdatLength / 4294967296) >>> 0);
  view.setUint32(box.length + 12, mdatLength >>> 0);
  return out;
}

const NONE = new Uint8Array(0);

/** The header of a generated file, by extension (empty when the name has no known format). */
export function mediaHeader(relativePath: string, size: number): Uint8Array {
  const dot = relativePath.lastIndexOf('.');
  // Longest known extension: 4 characters. The common case (no dot, other names) allocates nothing.
  if (dot < 0 || relativePath.length - dot > 5) return NONE;
  const head = HEADS.get(relativePath.slice(dot + 1).toLowerCase());
  if (head === undefined) return NONE;
  const bytes = 'iso' in head ? isoMedia(head.iso, size) : head.fixed;
  return bytes.length <= size ? bytes : bytes.slice(0, Math.max(0, size));
}
