/**
 * The framed binary plist of a DeviceLink move request, `[name, {from: to, …}, {}, progress]`,
 * written in one pass. A device sends hundreds of these with 1 024 pairs each in a big backup;
 * building the dict as an object and handing it to the general encoder costs a property
 * insertion and a string lookup per path. The objects are numbered as the general encoder numbers
 * them (array, name, dict, keys, values, options, progress), so for distinct strings the bytes
 * are the same; a repeated string is simply written again, which the format allows.
 */
import { IbackupError } from '../errors.js';

const MAGIC = 'bplist00';

/** Bytes the marker (and count integer) of a string or container of `count` takes. */
function headerLength(count: number): number {
  return count < 15 ? 1 : count < 0x100 ? 3 : count < 0x10000 ? 4 : 6;
}

function putHeader(buf: Buffer, at: number, type: number, count: number): number {
  if (count < 15) {
    buf[at] = (type << 4) | count;
    return at + 1;
  }
  buf[at] = (type << 4) | 0x0f;
  if (count < 0x100) {
    buf[at + 1] = 0x10;
    buf[at + 2] = count;
    return at + 3;
  }
  if (count < 0x10000) {
    buf[at + 1] = 0x11;
    buf.writeUInt16BE(count, at + 2);
    return at + 4;
  }
  buf[at + 1] = 0x12;
  buf.writeUInt32BE(count, at + 2);
  return at + 6;
}

/** Smallest of 1..4 bytes holding `v`. */
function widthOf(v: number): number {
  return v < 0x100 ? 1 : v < 0x10000 ? 2 : v < 0x1000000 ? 3 : 4;
}

function putUint(buf: Buffer, at: number, v: number, width: number): number {
  buf.writeUIntBE(v, at, width);
  return at + width;
}

/** Where everything goes in a move request's plist. */
interface Layout {
  /** The name, then every `from`, then every `to` (objects 1, 3…n+2, n+3…2n+2). */
  strings: string[];
  /** Whether each string is ASCII (written as one byte per character, else UTF-16BE). */
  ascii: boolean[];
  /** Objects: the strings plus the array, the dict, the options and the progress. */
  count: number;
  /** Bytes of an object reference. */
  ref: number;
  /** Offset of the offset table. */
  tableStart: number;
  /** Bytes of an offset. */
  offsetSize: number;
  /** Bytes of the whole plist. */
  total: number;
}

function layoutOf(name: string, moves: ReadonlyArray<{ from: string; to: string }>): Layout {
  const n = moves.length;
  const strings: string[] = [name];
  for (const m of moves) strings.push(m.from);
  for (const m of moves) strings.push(m.to);
  const ascii = strings.map((s) => Buffer.byteLength(s, 'utf8') === s.length);
  const count = strings.length + 4; // + array, dict, options, progress
  const ref = widthOf(count - 1);
  // Object bytes: array, strings and dict in numbering order, then options and progress.
  let body = MAGIC.length + headerLength(4) + 4 * ref + headerLength(n) + 2 * n * ref + 1 + 9;
  strings.forEach((s, i) => {
    body += headerLength(s.length) + (ascii[i] ? s.length : 2 * s.length);
  });
  const tableStart = body;
  const lastObject = body - 9;
  const offsetSize = widthOf(lastObject);
  const total = tableStart + count * offsetSize + 32;
  if (total > 0xffffffff) throw new IbackupError('INTERNAL', { message: `Cannot frame a plist of ${total} bytes.` });
  return { strings, ascii, count, ref, tableStart, offsetSize, total };
}

/** Writes a string object at `at`; returns where it ends. */
function putString(buf: Buffer, at: number, s: string, ascii: boolean): number {
  if (ascii) {
    at = putHeader(buf, at, 0x5, s.length);
    return at + buf.write(s, at, 'latin1');
  }
  at = putHeader(buf, at, 0x6, s.length);
  for (let k = 0; k < s.length; k++) {
    buf.writeUInt16BE(s.charCodeAt(k), at);
    at += 2;
  }
  return at;
}

/** The offset table and the 32-byte trailer (top object 0). */
function putTrailer(buf: Buffer, at: number, offsets: readonly number[], l: Layout): void {
  for (const o of offsets) at = putUint(buf, at, o, l.offsetSize);
  buf.fill(0, at, at + 6);
  buf[at + 6] = l.offsetSize;
  buf[at + 7] = l.ref;
  buf.writeUInt32BE(0, at + 8);
  buf.writeUInt32BE(l.count, at + 12);
  buf.fill(0, at + 16, at + 24); // top object 0
  buf.writeUInt32BE(0, at + 24);
  buf.writeUInt32BE(l.tableStart, at + 28);
}

/**
 * The frame (4-byte length, then the binary plist) of a move request. Each `from` must be
 * distinct, as the keys of a dict are.
 */
export function encodeMoveFrame(
  name: string,
  moves: ReadonlyArray<{ from: string; to: string }>,
  progress: number,
): Uint8Array {
  const n = moves.length;
  const l = layoutOf(name, moves);
  const { strings, ascii, count, ref } = l;
  const buf = Buffer.allocUnsafe(4 + l.total);
  buf.writeUInt32BE(l.total, 0);
  const base = 4;
  let at = base + buf.write(MAGIC, base, 'latin1');
  const offsets: number[] = new Array<number>(count);
  // 0: the message array [name (1), dict (2), options, progress].
  offsets[0] = at - base;
  at = putHeader(buf, at, 0xa, 4);
  at = putUint(buf, at, 1, ref);
  at = putUint(buf, at, 2, ref);
  at = putUint(buf, at, count - 2, ref);
  at = putUint(buf, at, count - 1, ref);
  offsets[1] = at - base;
  at = putString(buf, at, strings[0] as string, ascii[0] as boolean);
  // 2: the dict, keys 3..n+2, values n+3..2n+2.
  offsets[2] = at - base;
  at = putHeader(buf, at, 0xd, n);
  for (let i = 0; i < 2 * n; i++) at = putUint(buf, at, 3 + i, ref);
  for (let i = 1; i <= 2 * n; i++) {
    offsets[2 + i] = at - base;
    at = putString(buf, at, strings[i] as string, ascii[i] as boolean);
  }
  offsets[count - 2] = at - base;
  buf[at++] = 0xd0; // options: an empty dict
  offsets[count - 1] = at - base;
  buf[at] = 0x23;
  buf.writeDoubleBE(progress, at + 1);
  at += 9;
  putTrailer(buf, at, offsets, l);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
