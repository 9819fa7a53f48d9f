/**
 * A fast writer of the MBFile archive of an ordinary Manifest.db row (one per file, directory or
 * link of a backup, so hundreds of thousands per run). The archive of a row without link target,
 * digest, encryption key or extended attributes always has the same 44 objects in the same order;
 * only the ten integers and the relative path change. The fixed parts are cut once from the
 * general encoder's own output, and the result is byte for byte what `encodeMBFile` returns.
 * Any other record goes to `encodeMBFile`.
 */
import { encodeMBFile, type MBFile, type MBFileIntKey } from '../../../protocol/nskeyed.js';

type IntKey = MBFileIntKey;

/** The integer fields in the order the archive lists them. */
const INT_KEYS: readonly IntKey[] = [
  'lastModified',
  'lastStatusChange',
  'birth',
  'size',
  'mode',
  'inodeNumber',
  'userId',
  'groupId',
  'flags',
  'protectionClass',
];
/** Objects before the integers (header, top-level dict, keys, $null, the MBFile dict and its keys). */
const FIRST_INT = 25;
/** The relative path's object; the class description follows it. */
const PATH_OBJECT = 37;
const OBJECTS = 44;
/** Strings the archive holds anyway: a path equal to one is written once, shifting the numbering. */
const FIXED_STRINGS = new Set([
  '$version',
  '$archiver',
  '$top',
  '$objects',
  'NSKeyedArchiver',
  'root',
  '$null',
  '$class',
  '$classname',
  '$classes',
  'MBFile',
  'NSObject',
  'LastModified',
  'LastStatusChange',
  'Birth',
  'Size',
  'Mode',
  'InodeNumber',
  'UserID',
  'GroupID',
  'Flags',
  'ProtectionClass',
  'RelativePath',
]);

interface Template {
  /** Bytes of the header and objects 0–24. */
  prefix: Uint8Array;
  prefixOffsets: number[];
  /** Bytes of objects 38–43 (the class description). */
  suffix: Uint8Array;
  /** Their offsets from the start of `suffix`. */
  suffixOffsets: number[];
}

function readUint(b: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + (b[at + i] ?? 0);
  return v;
}

/** Cuts the fixed parts out of an archive the general encoder wrote. */
function makeTemplate(): Template {
  const sample: MBFile = {
    relativePath: 'x',
    lastModified: 1,
    lastStatusChange: 1,
    birth: 1,
    size: 1,
    mode: 1,
    inodeNumber: 1,
    userId: 1,
    groupId: 1,
    flags: 1,
    protectionClass: 1,
  };
  const b = encodeMBFile(sample);
  const t = b.length - 32;
  const offsetSize = b[t + 6] ?? 0;
  const count = readUint(b, t + 8, 8);
  const tableStart = readUint(b, t + 24, 8);
  if ((b[t + 7] ?? 0) !== 1 || count !== OBJECTS) throw new Error('MBFile archive layout changed');
  const offsets = Array.from({ length: count }, (_, i) => readUint(b, tableStart + i * offsetSize, offsetSize));
  const at = (i: number): number => offsets[i] ?? 0;
  return {
    prefix: b.slice(0, at(FIRST_INT)),
    prefixOffsets: offsets.slice(0, FIRST_INT),
    suffix: b.slice(at(PATH_OBJECT + 1), tableStart),
    suffixOffsets: offsets.slice(PATH_OBJECT + 1).map((o) => o - at(PATH_OBJECT + 1)),
  };
}

let template: Template | undefined;

/** Bytes an integer object takes (marker included). */
function intLength(v: number): number {
  if (v < 0 || v > 0xffffffff) return 9;
  return v < 0x100 ? 2 : v < 0x10000 ? 3 : 5;
}

/** Writes an integer object at `at`; returns the end. */
function putInt(buf: Buffer, at: number, v: number): number {
  if (v < 0 || v > 0xffffffff) {
    buf[at] = 0x13;
    buf.writeBigInt64BE(BigInt(v), at + 1);
    return at + 9;
  }
  if (v < 0x100) {
    buf[at] = 0x10;
    buf[at + 1] = v;
    return at + 2;
  }
  if (v < 0x10000) {
    buf[at] = 0x11;
    buf[at + 1] = v >>> 8;
    buf[at + 2] = v & 0xff;
    return at + 3;
  }
  buf[at] = 0x12;
  buf.writeUInt32BE(v, at + 1);
  return at + 5;
}

function countLength(n: number): number {
  return n < 15 ? 1 : 1 + intLength(n);
}

/**
 * The archive of one plain row, sized by `set` and written by `writeTo` into any buffer (a
 * Manifest.db page, without a copy of its own). One instance serves row after row.
 */
export class PlainMBFile {
  private path = '';
  private ascii = true;
  private readonly ints = new Array<number>(INT_KEYS.length).fill(0);
  private offsetSize = 1;
  private tableStart = 0;
  /** Where the next offset goes while writing. */
  private table = 0;
  /** Bytes of the archive. */
  length = 0;

  /** Takes the row's fields; false when the archive is not plain (the general encoder writes it). */
  set(f: MBFile): boolean {
    const path = f.relativePath;
    if (
      path === undefined ||
      f.target !== undefined ||
      f.digest !== undefined ||
      f.encryptionKey !== undefined ||
      f.extendedAttributes !== undefined ||
      FIXED_STRINGS.has(path)
    )
      return false;
    for (let i = 0; i < INT_KEYS.length; i++) {
      const v = f[INT_KEYS[i] as IntKey];
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return false;
      this.ints[i] = v;
    }
    const tpl = (template ??= makeTemplate());
    this.path = path;
    this.ascii = Buffer.byteLength(path, 'utf8') === path.length;
    let length =
      tpl.prefix.length + 4 + countLength(path.length) + (this.ascii ? 1 : 2) * path.length + tpl.suffix.length;
    for (const v of this.ints) length += intLength(v);
    this.tableStart = length;
    const lastOffset = length - (tpl.suffix.length - (tpl.suffixOffsets[tpl.suffixOffsets.length - 1] ?? 0));
    this.offsetSize = lastOffset < 0x100 ? 1 : lastOffset < 0x10000 ? 2 : lastOffset < 0x1000000 ? 3 : 4;
    this.length = length + OBJECTS * this.offsetSize + 32;
    return true;
  }

  /** Writes the archive at `start`. */
  writeTo(buf: Buffer, start: number): void {
    const tpl = template as Template;
    // The offset table goes after the objects; each object's offset is written as it is placed.
    this.table = start + this.tableStart;
    buf.set(tpl.prefix, start);
    for (const o of tpl.prefixOffsets) this.offset(buf, o);
    let at = start + tpl.prefix.length;
    for (const v of this.ints) {
      this.offset(buf, at - start);
      at = putInt(buf, at, v);
    }
    // The RelativePath and $class UIDs: objects 2 and 3 of $objects.
    this.offset(buf, at - start);
    this.offset(buf, at - start + 2);
    buf[at++] = 0x80;
    buf[at++] = 2;
    buf[at++] = 0x80;
    buf[at++] = 3;
    this.offset(buf, at - start);
    const path = this.path;
    const n = path.length;
    const kind = this.ascii ? 0x50 : 0x60;
    if (n < 15) buf[at++] = kind | n;
    else {
      buf[at++] = kind | 0x0f;
      at = putInt(buf, at, n);
    }
    if (this.ascii) at += buf.write(path, at, 'latin1');
    else {
      for (let i = 0; i < n; i++) {
        buf.writeUInt16BE(path.charCodeAt(i), at);
        at += 2;
      }
    }
    const suffixAt = at - start;
    buf.set(tpl.suffix, at);
    for (const o of tpl.suffixOffsets) this.offset(buf, suffixAt + o);
    // Trailer: 6 unused bytes, offset size, reference size, then object count, top object and
    // table offset as 64-bit integers (all below 2^32 here).
    const t = this.table;
    for (let i = 0; i < 32; i++) buf[t + i] = 0;
    buf[t + 6] = this.offsetSize;
    buf[t + 7] = 1;
    buf.writeUInt32BE(OBJECTS, t + 12);
    buf.writeUInt32BE(this.tableStart, t + 28);
  }

  /** Appends an object's offset to the table. */
  private offset(buf: Buffer, o: number): void {
    const t = this.table;
    if (this.offsetSize === 2) {
      buf[t] = o >>> 8;
      buf[t + 1] = o & 0xff;
    } else if (this.offsetSize === 1) buf[t] = o;
    else buf.writeUIntBE(o, t, this.offsetSize);
    this.table = t + this.offsetSize;
  }
}

const plain = new PlainMBFile();

/** The archive of a row, as `encodeMBFile(f)` would write it. */
export function writeMBFile(f: MBFile): Uint8Array {
  if (!plain.set(f)) return encodeMBFile(f);
  const buf = Buffer.allocUnsafe(plain.length);
  plain.writeTo(buf, 0);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
