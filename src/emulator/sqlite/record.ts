/**
 * SQLite's record format (https://www.sqlite.org/fileformat2.html §2.1): a header of serial
 * types, then the values. Varints here are SQLite's (big-endian, 7 bits a byte), not protobuf's.
 * Values are TEXT (UTF-8), INTEGER (a safe JavaScript integer), REAL (any other number), BLOB or NULL.
 */
export type SqlValue = string | number | Uint8Array | BlobWriter | null;

/** A BLOB written in place by its maker (no bytes of its own to copy). */
export interface BlobWriter {
  readonly length: number;
  writeTo(buf: Buffer, at: number): void;
}

/** Bytes the varint of `v` (0 ≤ v < 2^53) takes. */
export function varintLength(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  for (let limit = 2 ** 35; v >= limit; limit *= 128) n++;
  return n;
}

/** Writes the varint of `v` (0 ≤ v < 2^56) at `at`; returns the end. */
export function putVarint(buf: Uint8Array, at: number, v: number): number {
  if (v < 0x80) {
    buf[at] = v;
    return at + 1;
  }
  if (v < 0x4000) {
    buf[at] = 0x80 | (v >>> 7);
    buf[at + 1] = v & 0x7f;
    return at + 2;
  }
  return putLongVarint(buf, at, v);
}

function putLongVarint(buf: Uint8Array, at: number, v: number): number {
  const n = varintLength(v);
  let rest = v;
  for (let i = n - 1; i >= 0; i--) {
    const low = rest % 128;
    buf[at + i] = i === n - 1 ? low : 0x80 | low;
    rest = Math.floor(rest / 128);
  }
  return at + n;
}

/** The serial type of an integer (file format 4: 0 and 1 take no body bytes). */
function intSerial(v: number): number {
  if (v === 0) return 8;
  if (v === 1) return 9;
  if (v >= -0x80 && v < 0x80) return 1;
  if (v >= -0x8000 && v < 0x8000) return 2;
  if (v >= -0x800000 && v < 0x800000) return 3;
  if (v >= -0x80000000 && v < 0x80000000) return 4;
  if (v >= -(2 ** 47) && v < 2 ** 47) return 5;
  return 6;
}

const INT_BYTES = [0, 1, 2, 3, 4, 6, 8, 8, 0, 0];

/** Body bytes of a serial type. */
export function serialBytes(t: number): number {
  return t < 12 ? (INT_BYTES[t] ?? 0) : (t - 12) >>> 1;
}

/** The serial type of a value; `textBytes` is the UTF-8 length of a string value. */
export function serialOf(v: SqlValue, textBytes: number): number {
  if (v === null) return 0;
  if (typeof v === 'string') return 13 + 2 * textBytes;
  if (typeof v === 'number') {
    // Beyond 2^53 a number is no exact integer: it is kept as the REAL it is.
    return Number.isSafeInteger(v) ? intSerial(v) : 7;
  }
  return 12 + 2 * v.length;
}

/** UTF-8 length of a string: its length when it is ASCII, which nearly every path is. */
export function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** Writes a string of `bytes` UTF-8 bytes at `at`; returns the end. */
export function putText(buf: Buffer, at: number, s: string, bytes: number): number {
  if (bytes === s.length && bytes < 32) {
    for (let i = 0; i < bytes; i++) buf[at + i] = s.charCodeAt(i);
    return at + bytes;
  }
  return at + buf.write(s, at, bytes === s.length ? 'latin1' : 'utf8');
}

/** Writes an integer of serial type `t` (1–6) at `at`; returns the end. */
export function putInt(buf: Buffer, at: number, v: number, t: number): number {
  const n = INT_BYTES[t] ?? 8;
  if (v >= 0 && n <= 6) {
    let rest = v;
    for (let i = n - 1; i >= 0; i--) {
      buf[at + i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
  } else if (n <= 6) buf.writeIntBE(v, at, n);
  else buf.writeBigInt64BE(BigInt(v), at);
  return at + n;
}

/** Writes one value of serial type `t` at `at`; returns the end. */
export function putValue(buf: Buffer, at: number, v: SqlValue, t: number): number {
  if (t === 0 || t === 8 || t === 9) return at;
  if (typeof v === 'string') return putText(buf, at, v, (t - 13) >>> 1);
  if (v instanceof Uint8Array) {
    buf.set(v, at);
    return at + v.length;
  }
  if (v === null) return at;
  if (typeof v === 'object') {
    v.writeTo(buf, at);
    return at + v.length;
  }
  if (t === 7) {
    buf.writeDoubleBE(v, at);
    return at + 8;
  }
  return putInt(buf, at, v, t);
}

/** The layout of a record: serial types, header length and whole length. */
export interface RecordLayout {
  serials: number[];
  headerLength: number;
  length: number;
}

/**
 * Lays a record out; `textBytes[i]`, when given, is the UTF-8 length of string value i. `into`, when
 * given, is filled and returned instead of a new layout.
 */
export function layoutRecord(
  values: readonly SqlValue[],
  textBytes?: readonly number[],
  into?: RecordLayout,
): RecordLayout {
  const serials = into?.serials ?? [];
  serials.length = 0;
  let typesLength = 0;
  let body = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? null;
    const t = serialOf(v, typeof v === 'string' ? (textBytes?.[i] ?? utf8Length(v)) : 0);
    serials.push(t);
    typesLength += varintLength(t);
    body += serialBytes(t);
  }
  // The header's length counts its own varint.
  const headerLength = typesLength + 1 < 0x80 ? typesLength + 1 : typesLength + varintLength(typesLength + 2);
  if (!into) return { serials, headerLength, length: headerLength + body };
  into.headerLength = headerLength;
  into.length = headerLength + body;
  return into;
}

/** Writes a record laid out by `layoutRecord` at `at`; returns the end. */
export function putRecord(buf: Buffer, at: number, values: readonly SqlValue[], layout: RecordLayout): number {
  let p = putVarint(buf, at, layout.headerLength);
  for (const t of layout.serials) p = putVarint(buf, p, t);
  for (let i = 0; i < values.length; i++) p = putValue(buf, p, values[i] ?? null, layout.serials[i] ?? 0);
  return p;
}

/** A record as bytes of its own. */
export function encodeRecord(values: readonly SqlValue[]): Buffer {
  const layout = layoutRecord(values);
  const buf = Buffer.allocUnsafe(layout.length);
  putRecord(buf, 0, values, layout);
  return buf;
}
