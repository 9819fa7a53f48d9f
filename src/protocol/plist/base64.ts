/** Base64 for XML plist `<data>`: a strict-alphabet decoder that skips whitespace, and an encoder. */
import { decodeError } from '../../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) VALUES[CODES[i] as number] = i;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Decodes base64 text; whitespace anywhere is ignored, padding is optional. */
export function base64Decode(text: string): Uint8Array {
  const sextets = new Uint8Array(text.length);
  let n = 0;
  let pad = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) continue;
    if (c === 0x3d) {
      pad++;
      continue;
    }
    const v = c < 128 ? (VALUES[c] as number) : -1;
    if (v < 0 || pad > 0) throw decodeError('XML plist <data> is not valid base64');
    sextets[n++] = v;
  }
  if (n % 4 === 1 || pad > 2 || (pad > 0 && (n + pad) % 4 !== 0)) {
    throw decodeError('XML plist <data> is not valid base64');
  }
  const out = new Uint8Array(Math.floor((n * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v =
      ((sextets[i] as number) << 18) |
      ((sextets[i + 1] as number) << 12) |
      ((sextets[i + 2] as number) << 6) |
      (sextets[i + 3] as number);
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  const rest = n - i;
  if (rest >= 2) {
    const v =
      ((sextets[i] as number) << 18) |
      ((sextets[i + 1] as number) << 12) |
      (rest === 3 ? (sextets[i + 2] as number) << 6 : 0);
    out[o++] = v >> 16;
    if (rest === 3) out[o++] = (v >> 8) & 0xff;
  }
  return out;
}

/** Encodes bytes as base64 lines of at most `lineLength` characters (a multiple of 4). */
export function base64Lines(data: Uint8Array, lineLength: number): string[] {
  const lines: string[] = [];
  const bytesPerLine = (lineLength / 4) * 3;
  for (let start = 0; start < data.length; start += bytesPerLine) {
    const end = Math.min(start + bytesPerLine, data.length);
    const codes: number[] = [];
    let i = start;
    for (; i + 3 <= end; i += 3) {
      const v = ((data[i] as number) << 16) | ((data[i + 1] as number) << 8) | (data[i + 2] as number);
      codes.push(
        CODES[v >> 18] as number,
        CODES[(v >> 12) & 63] as number,
        CODES[(v >> 6) & 63] as number,
        CODES[v & 63] as number,
      );
    }
    if (end - i === 1) {
      const v = (data[i] as number) << 16;
      codes.push(CODES[v >> 18] as number, CODES[(v >> 12) & 63] as number, 0x3d, 0x3d);
    } else if (end - i === 2) {
      const v = ((data[i] as number) << 16) | ((data[i + 1] as number) << 8);
      codes.push(CODES[v >> 18] as number, CODES[(v >> 12) & 63] as number, CODES[(v >> 6) & 63] as number, 0x3d);
    }
    lines.push(String.fromCharCode(...codes));
  }
  return lines;
}
