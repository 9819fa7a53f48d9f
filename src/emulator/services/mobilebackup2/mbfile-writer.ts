/**
 * A fast writer of the MBFile archive of an ordinary Manifest.db row (one per file, directory or
 * link of a backup, so hundreds of thousands per run). The archive of a row without link target,
 * digest, encryption key or extended attributes always has the same 44 objects in the same order;
 * only the ten integers and the relative path change. The fixed parts are cut once from the
 * general encoder's own output, and the result is byte for byte what `encodeMBFile` returns.
 * Any other record goes to `encodeMBFile`.
 */
import { encodeMBFile, type MBFile } from '../../../protocol/nskeyed.js';

type IntKey = 'lastModified' | 'lastStatusChange' | 'birth' | 'size' | 'mode' | 'inodeNumber' | 'userId' | 'groupId' | 'flags' | 'protectionClass';

/** The integer fields in the order the archive lists them. */
const INT_KEYS: readonly IntKey[] = ['lastModified', 'lastStatusChange', 'birth', 'size', 'mode', 'inodeNumber', 'userId', 'groupId', 'flags', 'protectionClass'];
/** Objects before the integers (header, top-level dict, keys, $null, the MBFile dict and its keys). */
const FIRST_INT = 25;
/** The relative path's object; the class description follows it. */
const PATH_OBJECT = 37;
const OBJECTS = 44;
/** Strings the archive holds anyway: a path equal to one is written once, shifting the numbering. */
const FIXED_STRINGS = new Set([
  '$version', '$archiver', '$top', '$objects', 'NSKeyedArchiver', 'root', '$null', '$class', '$classname', '$classes', 'MBFile', 'NSObject',
  'LastModified', 'LastStatusChange', 'Birth', 'Size', 'Mode', 'InodeNumber', 'UserID', 'GroupID', 'Flags', 'ProtectionClass', 'RelativePath',
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
    relativePath: 'x', lastModified: 1, lastStatusChange: 1, birth: 1, size: 1, mode: 1, inodeNumber: 1, userId: 1, groupId: 1, flags: 1, protectionClass: 1,
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

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
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

/** The archive of a row, as `encodeMBFile(f)` would write it. */
export function writeMBFile(f: MBFile): Uint8Array {
  const path = f.relativePath;
  if (path === undefined || f.target !== undefined || f.digest !== undefined || f.encryptionKey !== undefined || f.extendedAttributes !== undefined || FIXED_STRINGS.has(path)) {
    return encodeMBFile(f);
  }
  const ints: number[] = [];
  for (const k of INT_KEYS) {
    const v = f[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return encodeMBFile(f);
    ints.push(v);
  }
  const tpl = (template ??= makeTemplate());
  const ascii = isAscii(path);
  let length = tpl.prefix.length + 4 + countLength(path.length) + (ascii ? 1 : 2) * path.length + tpl.suffix.length;
  for (const v of ints) length += intLength(v);
  const tableStart = length;
  const lastOffset = tableStart - (tpl.suffix.length - (tpl.suffixOffsets[tpl.suffixOffsets.length - 1] ?? 0));
  const offsetSize = lastOffset < 0x100 ? 1 : lastOffset < 0x10000 ? 2 : lastOffset < 0x1000000 ? 3 : 4;
  length += OBJECTS * offsetSize + 32;

  const buf = Buffer.allocUnsafe(length);
  const offsets: number[] = tpl.prefixOffsets.slice();
  buf.set(tpl.prefix, 0);
  let at = tpl.prefix.length;
  for (const v of ints) {
    offsets.push(at);
    at = putInt(buf, at, v);
  }
  // The RelativePath and $class UIDs: objects 2 and 3 of $objects.
  offsets.push(at, at + 2);
  buf[at++] = 0x80;
  buf[at++] = 2;
  buf[at++] = 0x80;
  buf[at++] = 3;
  offsets.push(at);
  const n = path.length;
  const kind = ascii ? 0x50 : 0x60;
  if (n < 15) buf[at++] = kind | n;
  else {
    buf[at++] = kind | 0x0f;
    at = putInt(buf, at, n);
  }
  if (ascii) at += buf.write(path, at, 'latin1');
  else {
    for (let i = 0; i < n; i++) {
      buf.writeUInt16BE(path.charCodeAt(i), at);
      at += 2;
    }
  }
  const suffixAt = at;
  buf.set(tpl.suffix, at);
  at += tpl.suffix.length;
  for (const o of tpl.suffixOffsets) offsets.push(suffixAt + o);
  if (offsetSize === 2) {
    for (const o of offsets) {
      buf[at] = o >>> 8;
      buf[at + 1] = o & 0xff;
      at += 2;
    }
  } else {
    for (const o of offsets) {
      buf.writeUIntBE(o, at, offsetSize);
      at += offsetSize;
    }
  }
  // Trailer: 6 unused bytes, offset size, reference size, then object count, top object and
  // table offset as 64-bit integers (all below 2^32 here).
  buf.fill(0, at, at + 32);
  buf[at + 6] = offsetSize;
  buf[at + 7] = 1;
  buf.writeUInt32BE(OBJECTS, at + 12);
  buf.writeUInt32BE(tableStart, at + 28);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
