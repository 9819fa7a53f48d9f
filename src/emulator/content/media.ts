/**
 * Format headers for generated media files: the first bytes of a file whose rest is seeded noise,
 * so `file`-style sniffing sees a QuickTime movie, an M4A, a HEIF image or a PDF.
 */

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function u64(n: number): number[] {
  return [...u32(Math.floor(n / 4294967296)), ...u32(n >>> 0)];
}

/** An ISO/QuickTime `ftyp` box followed by the header of a 64-bit-sized `mdat` holding the rest. */
function isoMedia(brand: string, compatible: readonly string[], size: number): number[] {
  const ftypLength = 16 + 4 * compatible.length;
  const ftyp = [...u32(ftypLength), ...ascii('ftyp'), ...ascii(brand), 0, 0, 0, 0, ...compatible.flatMap(ascii)];
  const mdatLength = Math.max(16, size - ftypLength);
  return [...ftyp, ...u32(1), ...ascii('mdat'), ...u64(mdatLength)];
}

/** The header of a generated file, by extension (empty when the name has no known format). */
export function mediaHeader(relativePath: string, size: number): Uint8Array {
  const dot = relativePath.lastIndexOf('.');
  const ext = dot < 0 ? '' : relativePath.slice(dot + 1).toLowerCase();
  let bytes: number[];
  switch (ext) {
    case 'mov':
      bytes = isoMedia('qt  ', ['qt  '], size);
      break;
    case 'mp4':
      bytes = isoMedia('mp42', ['mp41', 'mp42', 'isom'], size);
      break;
    case 'm4a':
      bytes = isoMedia('M4A ', ['M4A ', 'mp42', 'isom'], size);
      break;
    case 'heic':
      bytes = isoMedia('heic', ['mif1', 'heic'], size);
      break;
    case 'pdf':
      bytes = [...ascii('%PDF-1.7\n%'), 0xe2, 0xe3, 0xcf, 0xd3, 0x0a];
      break;
    case 'amr':
      bytes = ascii('#!AMR\n');
      break;
    default:
      bytes = [];
  }
  return Uint8Array.from(bytes.slice(0, Math.max(0, size)));
}
