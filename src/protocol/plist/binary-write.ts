/**
 * Binary property list (`bplist00`) encoder.
 *
 * Objects are numbered in depth-first order (the top object is 0), equal strings are written
 * once, integers take the smallest of 1/2/4/8 bytes (negative ones 8; 2^63..2^64-1 the 16-byte
 * form), reals are always 8-byte doubles so a whole real stays a real, and the offset and
 * reference sizes are the smallest that fit.
 */
import { APPLE_EPOCH_MS, encodeError, intAsBigint, kindOf, realValue, type ValueKind } from './common.js';
import { PlistUid, type PlistDict, type PlistValue } from './types.js';

/** One numbered object: a scalar, or a container with the numbers of its children. */
interface Entry {
  kind: ValueKind;
  value: PlistValue;
  /** Arrays: item refs. Dicts: key refs then value refs. */
  refs?: number[];
}

/** A growable big-endian byte buffer. */
class ByteSink {
  buf = new Uint8Array(1024);
  view = new DataView(this.buf.buffer);
  len = 0;

  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** An unsigned big-endian integer of `size` bytes (value below 2^53). */
  uint(v: number, size: number): void {
    this.reserve(size);
    for (let i = size - 1; i >= 0; i--) {
      this.buf[this.len + i] = v % 256;
      v = Math.floor(v / 256);
    }
    this.len += size;
  }

  bigint64(v: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.len, BigInt.asUintN(64, v));
    this.len += 8;
  }

  float64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.len, v);
    this.len += 8;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

/** Bytes needed for an unsigned value: 1, 2, 4 or 8. */
function widthOf(v: number): number {
  if (v < 0x100) return 1;
  if (v < 0x10000) return 2;
  if (v < 0x100000000) return 4;
  return 8;
}

/** The smallest of 1..8 bytes holding `v`, for offsets and references. */
function byteCount(v: number): number {
  let n = 1;
  while (v >= 256 ** n && n < 8) n++;
  return n;
}

/** Numbers the objects depth-first; containers get the numbers of their children. */
function flatten(root: PlistValue): Entry[] {
  const entries: Entry[] = [];
  const strings = new Map<string, number>();
  const open = new Set<object>();
  // Each stack item is a container entry and the child values still to number.
  const stack: { entry: Entry; children: PlistValue[]; pos: number; node: object }[] = [];

  const add = (value: PlistValue): number => {
    const kind = kindOf(value);
    if (kind === 'string') {
      const known = strings.get(value as string);
      if (known !== undefined) return known;
      strings.set(value as string, entries.length);
    }
    const index = entries.length;
    if (kind === 'array' || kind === 'dict') {
      const node = value as object;
      if (open.has(node)) throw encodeError('the value contains a reference cycle');
      open.add(node);
      const entry: Entry = { kind, value, refs: [] };
      entries.push(entry);
      let children: PlistValue[];
      if (kind === 'array') {
        children = value as PlistValue[];
      } else {
        const dict = value as PlistDict;
        const keys = Object.keys(dict);
        children = keys.map((k) => dict[k] as PlistValue);
        const refs = entry.refs as number[];
        for (const k of keys) refs.push(add(k));
      }
      stack.push({ entry, children, pos: 0, node });
    } else {
      entries.push({ kind, value });
    }
    return index;
  };

  add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as (typeof stack)[number];
    if (top.pos < top.children.length) {
      const child = top.children[top.pos++] as PlistValue;
      if (child === undefined) throw encodeError('an array item or dict value is undefined');
      (top.entry.refs as number[]).push(add(child));
    } else {
      open.delete(top.node);
      stack.pop();
    }
  }
  return entries;
}

/** Marker byte plus, for counts of 15 or more, a following integer object. */
function writeHeader(out: ByteSink, type: number, count: number): void {
  if (count < 15) {
    out.byte((type << 4) | count);
    return;
  }
  out.byte((type << 4) | 0x0f);
  const w = widthOf(count);
  out.byte(0x10 | Math.log2(w));
  out.uint(count, w);
}

function writeInt(out: ByteSink, value: number | bigint): void {
  if (typeof value === 'number' && value >= 0 && value <= 0xffffffff) {
    const w = widthOf(value);
    out.byte(0x10 | Math.log2(w));
    out.uint(value, w);
    return;
  }
  const b = intAsBigint(value);
  if (b >= 0n && b <= 0xffffffffn) {
    writeInt(out, Number(b));
  } else if (b > 0x7fffffffffffffffn) {
    out.byte(0x14);
    out.bigint64(0n);
    out.bigint64(b);
  } else {
    out.byte(0x13);
    out.bigint64(b);
  }
}

const utf8 = new TextEncoder();
/** From this length on, an ASCII string is copied by the native UTF-8 encoder (faster than a loop). */
const NATIVE_COPY_FROM = 24;

/** True when `s` was written at `out.len` as ASCII (one byte per character); else nothing counts. */
function copyAscii(out: ByteSink, s: string): boolean {
  const n = s.length;
  if (n >= NATIVE_COPY_FROM) {
    // A non-ASCII character takes two or more bytes in UTF-8, so it stops the copy short.
    const r = utf8.encodeInto(s, out.buf.subarray(out.len, out.len + n));
    return r.read === n && r.written === n;
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return false;
    out.buf[out.len + i] = c;
  }
  return true;
}

function writeString(out: ByteSink, s: string): void {
  const n = s.length;
  const start = out.len;
  writeHeader(out, 0x5, n);
  out.reserve(n);
  if (copyAscii(out, s)) {
    out.len += n;
    return;
  }
  out.len = start;
  writeHeader(out, 0x6, n);
  out.reserve(2 * n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    out.buf[out.len + 2 * i] = c >> 8;
    out.buf[out.len + 2 * i + 1] = c & 0xff;
  }
  out.len += 2 * n;
}

function writeObject(out: ByteSink, e: Entry, refSize: number): void {
  switch (e.kind) {
    case 'string':
      return writeString(out, e.value as string);
    case 'int':
      return writeInt(out, e.value as number | bigint);
    case 'real':
      out.byte(0x23);
      return out.float64(realValue(e.value));
    case 'bool':
      return out.byte(e.value === true ? 0x09 : 0x08);
    case 'date':
      out.byte(0x33);
      return out.float64(((e.value as Date).getTime() - APPLE_EPOCH_MS) / 1000);
    case 'data': {
      const d = e.value as Uint8Array;
      writeHeader(out, 0x4, d.length);
      return out.bytes(d);
    }
    case 'uid': {
      const v = (e.value as PlistUid).value;
      const w = v < 0x100 ? 1 : v < 0x10000 ? 2 : v < 0x1000000 ? 3 : 4;
      out.byte(0x80 | (w - 1));
      return out.uint(v, w);
    }
    case 'array':
    case 'dict': {
      const refs = e.refs as number[];
      writeHeader(out, e.kind === 'array' ? 0xa : 0xd, e.kind === 'array' ? refs.length : refs.length / 2);
      out.reserve(refs.length * refSize);
      for (const r of refs) out.uint(r, refSize);
      return;
    }
  }
}

/** Encodes a plist value as a binary plist. Throws IbackupError INTERNAL for unencodable values. */
export function serializeBinaryPlist(value: PlistValue): Uint8Array {
  const entries = flatten(value);
  const refSize = byteCount(entries.length - 1);
  const out = new ByteSink();
  for (const c of 'bplist00') out.byte(c.charCodeAt(0));
  const offsets = new Array<number>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    offsets[i] = out.len;
    writeObject(out, entries[i] as Entry, refSize);
  }
  const tableStart = out.len;
  const offsetSize = byteCount(offsets[offsets.length - 1] as number);
  for (const off of offsets) out.uint(off, offsetSize);
  out.reserve(32);
  out.uint(0, 6);
  out.byte(offsetSize);
  out.byte(refSize);
  out.uint(entries.length, 8);
  out.uint(0, 8);
  out.uint(tableStart, 8);
  return out.buf.slice(0, out.len);
}
