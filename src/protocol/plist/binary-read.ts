/**
 * Binary property list (`bplist00`) decoder.
 *
 * Layout: an 8-byte magic, the objects, an offset table (one big-endian offset per object) and a
 * 32-byte trailer: 6 unused bytes, offset size, object-reference size, then three big-endian u64s:
 * object count, top object index, offset-table position.
 *
 * Hostile input is expected: every length is checked against the bytes present before anything
 * is allocated, references are range-checked, reference cycles are rejected, and the walk uses an
 * explicit stack (no recursion). An object referenced from several places is decoded once and
 * shared, as Apple's reader does; the size and depth of the tree it expands to are still bounded
 * by the limits, so a small file cannot describe an exponentially large tree.
 */
import { decodeError } from '../../errors.js';
import { APPLE_EPOCH_MS, MAX_DATE_MS, canonicalInt, setEntry } from './common.js';
import { resolveLimits, type PlistLimits } from './limits.js';
import { PlistReal, PlistUid, type PlistDict, type PlistValue } from './types.js';

const MAGIC = [0x62, 0x70, 0x6c, 0x69, 0x73, 0x74, 0x30, 0x30]; // "bplist00"
const HEADER = 8;
const TRAILER = 32;

// Walk states; 0 means not visited yet.
const IN_PROGRESS = 1;
const DONE = 2;

/** A container being filled while the walk visits its children. */
class Frame {
  pos = 0;
  readonly items: PlistValue[];
  /** Objects in the tree this container expands to, itself included. */
  size = 1;
  /** Container levels in that tree, itself included. */
  height = 1;

  constructor(
    readonly index: number,
    /** Child object indices: array items, or dict values (keys are decoded up front). */
    readonly refs: number[],
    readonly keys: string[] | undefined,
  ) {
    this.items = new Array<PlistValue>(refs.length);
  }
}

class Reader {
  private readonly view: DataView;
  private readonly end: number;
  private readonly offsetSize: number;
  private readonly refSize: number;
  private readonly numObjects: number;
  private readonly tableStart: number;
  readonly top: number;
  // Per object: walk state, decoded value, and size and height of the tree it expands to.
  private readonly state: Uint8Array;
  /** The same bytes, for decoding ASCII strings natively (code points 0-255, Latin-1). */
  private readonly text: Buffer;
  private readonly memo: (PlistValue | undefined)[];
  private readonly sizes: Float64Array;
  private readonly heights: Uint32Array;

  constructor(
    private readonly bytes: Uint8Array,
    limits: PlistLimits,
  ) {
    const len = bytes.length;
    if (len < HEADER + 2 + TRAILER) throw decodeError('binary plist is too short');
    for (let i = 0; i < HEADER; i++) {
      if (bytes[i] !== MAGIC[i]) throw decodeError('binary plist does not start with "bplist00"');
    }
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = len - TRAILER;
    const t = this.end;
    this.offsetSize = this.view.getUint8(t + 6);
    this.refSize = this.view.getUint8(t + 7);
    if (this.offsetSize < 1 || this.offsetSize > 8) throw decodeError('binary plist offset size is not 1 to 8');
    if (this.refSize < 1 || this.refSize > 8) throw decodeError('binary plist reference size is not 1 to 8');
    const numObjects = this.view.getBigUint64(t + 8);
    const top = this.view.getBigUint64(t + 16);
    const tableStart = this.view.getBigUint64(t + 24);
    if (numObjects < 1n) throw decodeError('binary plist has no objects');
    if (numObjects > BigInt(limits.maxObjects)) throw decodeError('binary plist has too many objects');
    if (top >= numObjects) throw decodeError('binary plist top object is out of range');
    if (tableStart < BigInt(HEADER + 1)) throw decodeError('binary plist offset table is out of range');
    if (tableStart + numObjects * BigInt(this.offsetSize) > BigInt(this.end)) {
      throw decodeError('binary plist offset table is out of range');
    }
    this.numObjects = Number(numObjects);
    this.top = Number(top);
    this.tableStart = Number(tableStart);
    const n = this.numObjects;
    for (let i = 0; i < n; i++) this.offsetOf(i); // objects lie between the header and the table
    this.state = new Uint8Array(n);
    this.memo = new Array<PlistValue | undefined>(n);
    this.sizes = new Float64Array(n);
    this.heights = new Uint32Array(n);
  }

  /** An unsigned big-endian integer of `size` bytes; values above 2^53 come back as Infinity. */
  private uint(pos: number, size: number): number {
    const b = this.bytes;
    if (size === 1) return b[pos] as number;
    if (size === 2) return ((b[pos] as number) << 8) | (b[pos + 1] as number);
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + (b[pos + i] as number);
    return v > Number.MAX_SAFE_INTEGER ? Infinity : v;
  }

  /** Where object `index` starts, checked. */
  offsetOf(index: number): number {
    const off = this.uint(this.tableStart + index * this.offsetSize, this.offsetSize);
    if (off < HEADER || off >= this.tableStart)
      throw decodeError(`binary plist object ${index} offset is out of range`);
    return off;
  }

  /** Requires `count` bytes at `pos` before the trailer. */
  private need(pos: number, count: number, what: string): void {
    if (count > this.end - pos) throw decodeError(`binary plist ${what} runs past the end of the data`);
  }

  /** The element count of an object whose marker is at `pos`; returns [count, first content byte]. */
  private count(pos: number, marker: number): [number, number] {
    const low = marker & 0x0f;
    if (low !== 0x0f) return [low, pos + 1];
    this.need(pos + 1, 1, 'length');
    const intMarker = this.bytes[pos + 1] as number;
    if ((intMarker & 0xf0) !== 0x10 || (intMarker & 0x0f) > 3)
      throw decodeError('binary plist length is not an integer');
    const size = 1 << (intMarker & 0x0f);
    this.need(pos + 2, size, 'length');
    const n = this.uint(pos + 2, size);
    if (!Number.isFinite(n)) throw decodeError('binary plist length is too large');
    return [n, pos + 2 + size];
  }

  /** Object references of a container: `count` refs starting at `pos`, each checked. */
  private refs(pos: number, count: number, start = 0): number[] {
    const size = this.refSize;
    const out = new Array<number>(count - start);
    for (let i = start; i < count; i++) {
      const r = this.uint(pos + i * size, size);
      if (r >= this.numObjects) throw decodeError('binary plist references a nonexistent object');
      out[i - start] = r;
    }
    return out;
  }

  /** Decodes a scalar at `pos`, or returns a new Frame for an array or dict. */
  decode(index: number, wantKey: boolean): PlistValue | Frame {
    const pos = this.offsetOf(index);
    const b = this.bytes;
    const marker = b[pos] as number;
    const type = marker >> 4;
    const low = marker & 0x0f;
    if (wantKey && type !== 0x5 && type !== 0x6) throw decodeError('binary plist dict key is not a string');
    switch (type) {
      case 0x0:
        if (marker === 0x08) return false;
        if (marker === 0x09) return true;
        throw decodeError(`binary plist object type 0x${marker.toString(16).padStart(2, '0')} is not supported`);
      case 0x1:
        return this.int(pos, low);
      case 0x2:
        return this.real(pos, low);
      case 0x3:
        return this.date(pos, marker);
      case 0x4: {
        const [n, start] = this.count(pos, marker);
        this.need(start, n, 'data');
        return b.slice(start, start + n);
      }
      case 0x5: {
        const [n, start] = this.count(pos, marker);
        this.need(start, n, 'string');
        return this.text.toString('latin1', start, start + n);
      }
      case 0x6: {
        const [n, start] = this.count(pos, marker);
        if (n > (this.end - start) / 2) throw decodeError('binary plist string runs past the end of the data');
        return utf16be(b, start, n);
      }
      case 0x8:
        return this.uid(pos, low);
      case 0xa:
        return this.array(index, pos, marker);
      case 0xd:
        return this.dict(index, pos, marker);
      default:
        throw decodeError(`binary plist object type 0x${marker.toString(16).padStart(2, '0')} is not supported`);
    }
  }

  private real(pos: number, low: number): PlistReal {
    if (low === 2) {
      this.need(pos + 1, 4, 'real');
      return new PlistReal(this.view.getFloat32(pos + 1));
    }
    if (low === 3) {
      this.need(pos + 1, 8, 'real');
      return new PlistReal(this.view.getFloat64(pos + 1));
    }
    throw decodeError('binary plist real has an unsupported size');
  }

  private date(pos: number, marker: number): Date {
    if (marker !== 0x33) throw decodeError('binary plist date has an unsupported size');
    this.need(pos + 1, 8, 'date');
    const ms = APPLE_EPOCH_MS + this.view.getFloat64(pos + 1) * 1000;
    if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) throw decodeError('binary plist date is out of range');
    return new Date(Math.round(ms)); // nearest millisecond: seconds*1000 is not always exact
  }

  private uid(pos: number, low: number): PlistUid {
    const size = low + 1;
    this.need(pos + 1, size, 'UID');
    const v = this.uint(pos + 1, size);
    if (v > 0xffffffff) throw decodeError('binary plist UID is larger than 2^32-1');
    return new PlistUid(v);
  }

  /** An array's frame: its children's references, decoded later. */
  private array(index: number, pos: number, marker: number): Frame {
    const [n, start] = this.count(pos, marker);
    if (n > (this.end - start) / this.refSize) throw decodeError('binary plist array runs past the end of the data');
    return new Frame(index, this.refs(start, n), undefined);
  }

  /** A dict's frame: its keys decoded now, its values' references decoded later. */
  private dict(index: number, pos: number, marker: number): Frame {
    const [n, start] = this.count(pos, marker);
    if (n > (this.end - start) / (2 * this.refSize)) {
      throw decodeError('binary plist dict runs past the end of the data');
    }
    const keyRefs = this.refs(start, n);
    const keys = new Array<string>(n);
    for (let i = 0; i < n; i++) keys[i] = this.key(keyRefs[i] as number);
    return new Frame(index, this.refs(start + n * this.refSize, n), keys);
  }

  /** A dict key: a string object, decoded once however many dicts use it. */
  private key(index: number): string {
    const known = this.memo[index];
    if (typeof known === 'string') return known;
    const s = this.decode(index, true) as string;
    this.memo[index] = s;
    this.state[index] = DONE;
    this.sizes[index] = 1;
    return s;
  }

  /** Integers: 1, 2 and 4 bytes are unsigned, 8 bytes signed, 16 bytes a signed 128-bit value. */
  private int(pos: number, low: number): number | bigint {
    if (low > 4) throw decodeError('binary plist integer has an unsupported size');
    const size = 1 << low;
    this.need(pos + 1, size, 'integer');
    if (size <= 4) return this.uint(pos + 1, size);
    if (size === 8) return canonicalInt(this.view.getBigInt64(pos + 1));
    const hi = this.view.getBigUint64(pos + 1);
    const lo = this.view.getBigUint64(pos + 9);
    return canonicalInt(BigInt.asIntN(128, (hi << 64n) | lo));
  }

  /** Walks the object graph from the top object with an explicit stack. */
  run(limits: PlistLimits): PlistValue {
    const { state, memo, sizes, heights } = this;
    const first = this.decode(this.top, false);
    if (!isFrame(first)) return first;
    if (limits.maxDepth < 1) throw decodeError('binary plist is nested too deeply');
    state[this.top] = IN_PROGRESS;
    const stack: Frame[] = [first];
    for (;;) {
      const f = stack[stack.length - 1] as Frame;
      if (f.pos < f.refs.length) {
        const child = f.refs[f.pos] as number;
        const st = state[child];
        let value: PlistValue;
        if (st === DONE) {
          value = memo[child] as PlistValue;
          f.size += sizes[child] as number;
          f.height = Math.max(f.height, (heights[child] as number) + 1);
        } else if (st === IN_PROGRESS) {
          throw decodeError('binary plist contains a reference cycle');
        } else {
          const d = this.decode(child, false);
          if (isFrame(d)) {
            if (stack.length + 1 > limits.maxDepth) throw decodeError('binary plist is nested too deeply');
            state[child] = IN_PROGRESS;
            stack.push(d);
            continue;
          }
          value = d;
          state[child] = DONE;
          memo[child] = d;
          sizes[child] = 1;
          f.size += 1;
        }
        f.items[f.pos++] = value;
        if (f.size > limits.maxObjects) throw decodeError('binary plist expands to too many objects');
        continue;
      }
      const value = finish(f);
      if (f.height > limits.maxDepth) throw decodeError('binary plist is nested too deeply');
      state[f.index] = DONE;
      memo[f.index] = value;
      sizes[f.index] = f.size;
      heights[f.index] = f.height;
      stack.pop();
      const parent = stack[stack.length - 1];
      if (parent === undefined) return value;
      parent.items[parent.pos++] = value;
      parent.size += f.size;
      parent.height = Math.max(parent.height, f.height + 1);
      if (parent.size > limits.maxObjects) throw decodeError('binary plist expands to too many objects');
    }
  }
}

function isFrame(v: PlistValue | Frame): v is Frame {
  return v instanceof Frame;
}

function finish(f: Frame): PlistValue {
  if (f.keys === undefined) return f.items;
  const keys = f.keys;
  const dict: PlistDict = {};
  for (let i = 0; i < keys.length; i++) setEntry(dict, keys[i] as string, f.items[i] as PlistValue);
  return dict;
}

/** `n` big-endian UTF-16 code units (surrogate pairs and even lone surrogates kept as is). */
function utf16be(b: Uint8Array, start: number, n: number): string {
  let s = '';
  const units: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = start + 2 * i;
    units.push(((b[p] as number) << 8) | (b[p + 1] as number));
    if (units.length === 8192) {
      s += String.fromCharCode.apply(null, units);
      units.length = 0;
    }
  }
  return s + String.fromCharCode.apply(null, units);
}

/**
 * Decodes a binary plist. Throws IbackupError PROTOCOL_DECODE on any malformed input: bad magic or
 * trailer, out-of-range offsets or references, truncated objects, unsupported object types,
 * reference cycles, or more objects/depth than `limits` allow.
 */
export function parseBinaryPlist(bytes: Uint8Array, limits?: Partial<PlistLimits>): PlistValue {
  const l = resolveLimits(limits);
  const reader = new Reader(bytes, l);
  return reader.run(l);
}
