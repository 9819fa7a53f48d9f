/**
 * The `file` column of Manifest.db: an `MBFile` object archived by NSKeyedArchiver as a binary
 * plist `{ $version: 100000, $archiver: "NSKeyedArchiver", $top: { root: UID(1) }, $objects: [...] }`.
 *
 * `encodeMBFile` writes the layout real devices write: "$null" at index 0, the MBFile dict at
 * index 1, then RelativePath, Target, Digest, EncryptionKey (an NSMutableData object) and its class,
 * ExtendedAttributes (data holding a binary plist of xattr name → data), and the MBFile class last.
 * `decodeMBFile` follows `$top.root` and the UIDs instead of assuming that order, accepts absent
 * fields and shared class dicts, and throws IbackupError PROTOCOL_DECODE on anything malformed.
 */
import { decodeError, IbackupError, isIbackupError } from '../errors.js';
import { parsePlist, serializeBinaryPlist, isPlistDict, PlistReal, PlistUid, uid } from './plist/index.js';
import { describePlistType as kind } from './plist/index.js';
import type { PlistDict, PlistValue } from './plist/index.js';

/** One Manifest.db `file` record. Every field is optional: real records omit some. */
export interface MBFile {
  /** Path inside the domain, same as the `relativePath` column ("" for a domain root). */
  relativePath?: string;
  /** Absolute target of a symbolic link. */
  target?: string;
  /** Unix seconds (1970 epoch). */
  lastModified?: number;
  /** Unix seconds (1970 epoch). */
  lastStatusChange?: number;
  /** Unix seconds (1970 epoch). */
  birth?: number;
  /** File length in bytes (0 for directories and links); a bigint only beyond 2^53. */
  size?: number | bigint;
  /** POSIX `st_mode`, e.g. 0o100644, 0o40755, 0o120755. */
  mode?: number;
  /** Device inode; a bigint only beyond 2^53. */
  inodeNumber?: number | bigint;
  /** May be negative (−2 = nobody). */
  userId?: number;
  groupId?: number;
  /** BSD `st_flags`. */
  flags?: number;
  /** Data-protection class (1–4 for files, mostly 0 for directories and links). */
  protectionClass?: number;
  /** `NS.data` of the EncryptionKey object: LE u32 class ‖ 40-byte wrapped file key. */
  encryptionKey?: Uint8Array;
  /** Extended attributes, name → value. */
  extendedAttributes?: Record<string, Uint8Array>;
  /** SHA-1 of the blob as stored (20 bytes). */
  digest?: Uint8Array;
}

/** An MBFile record is a few hundred bytes; this bounds hostile input. */
export const MAX_MBFILE_BYTES = 4 << 20;
const LIMITS = { maxObjects: 100_000, maxDepth: 32 };

/** The integer fields of an MBFile record. */
export type MBFileIntKey =
  | 'lastModified'
  | 'lastStatusChange'
  | 'birth'
  | 'size'
  | 'mode'
  | 'inodeNumber'
  | 'userId'
  | 'groupId'
  | 'flags'
  | 'protectionClass';

/** Archive key ↔ field, in the order `encodeMBFile` writes them. */
const INT_FIELDS: ReadonlyArray<readonly [string, MBFileIntKey]> = [
  ['LastModified', 'lastModified'],
  ['LastStatusChange', 'lastStatusChange'],
  ['Birth', 'birth'],
  ['Size', 'size'],
  ['Mode', 'mode'],
  ['InodeNumber', 'inodeNumber'],
  ['UserID', 'userId'],
  ['GroupID', 'groupId'],
  ['Flags', 'flags'],
  ['ProtectionClass', 'protectionClass'],
];
/** Fields that may hold a bigint; the others must fit a JS number. */
const BIG_FIELDS = new Set<MBFileIntKey>(['size', 'inodeNumber']);
/** Fields that may be negative. */
const ID_FIELDS = new Set<MBFileIntKey>(['userId', 'groupId']);
/** Time fields: a real (fractional seconds) from another writer is accepted and truncated. */
const TIME_FIELDS = new Set<MBFileIntKey>(['lastModified', 'lastStatusChange', 'birth']);

const MBFILE_CLASS: PlistDict = { $classname: 'MBFile', $classes: ['MBFile', 'NSObject'] };
const MUTABLE_DATA_CLASS: PlistDict = {
  $classname: 'NSMutableData',
  $classes: ['NSMutableData', 'NSData', 'NSObject'],
};

// ---------------------------------------------------------------------------------------------
// Encoding

function checkInt(v: number | bigint, key: string): void {
  if (typeof v === 'number' && !Number.isInteger(v)) {
    throw new IbackupError('INTERNAL', { message: `Cannot encode an MBFile: ${key} must be an integer, not ${v}.` });
  }
}

/** Archives an MBFile as a binary plist in the layout real devices write. */
export function encodeMBFile(f: MBFile): Uint8Array {
  const mb: PlistDict = {};
  const objects: PlistValue[] = ['$null', mb];
  const add = (v: PlistValue): PlistUid => {
    objects.push(v);
    return uid(objects.length - 1);
  };
  for (const [key, field] of INT_FIELDS) {
    const v = f[field];
    if (v === undefined) continue;
    checkInt(v, key);
    mb[key] = v;
  }
  if (f.relativePath !== undefined) mb.RelativePath = add(f.relativePath);
  if (f.target !== undefined) mb.Target = add(f.target);
  if (f.digest !== undefined) mb.Digest = add(f.digest);
  if (f.encryptionKey !== undefined) {
    const holder: PlistDict = { 'NS.data': f.encryptionKey };
    mb.EncryptionKey = add(holder);
    holder.$class = add(MUTABLE_DATA_CLASS);
  }
  if (f.extendedAttributes !== undefined) {
    const xattrs: PlistDict = {};
    for (const [name, value] of Object.entries(f.extendedAttributes)) {
      Object.defineProperty(xattrs, name, { value, enumerable: true, writable: true, configurable: true });
    }
    mb.ExtendedAttributes = add(serializeBinaryPlist(xattrs));
  }
  mb.$class = add(MBFILE_CLASS);
  return serializeBinaryPlist({
    $version: 100000,
    $archiver: 'NSKeyedArchiver',
    $top: { root: uid(1) },
    $objects: objects,
  });
}

// ---------------------------------------------------------------------------------------------
// Decoding

function fail(what: string): never {
  throw decodeError(`MBFile archive: ${what}`);
}

/** Checks that every UID anywhere in `$objects` points inside it (each container visited once). */
function checkAllUids(objects: PlistValue[]): void {
  const seen = new Set<object>();
  const stack: PlistValue[] = [...objects];
  while (stack.length > 0) {
    const v = stack.pop() as PlistValue;
    if (v instanceof PlistUid) {
      if (v.value >= objects.length) fail(`UID ${v.value} is out of range (${objects.length} objects)`);
    } else if (Array.isArray(v) || isPlistDict(v)) {
      if (seen.has(v)) continue;
      seen.add(v);
      stack.push(...(Array.isArray(v) ? v : Object.values(v)));
    }
  }
}

/** Reads an archive: the objects table, with every reference checked. */
class Archive {
  constructor(readonly objects: PlistValue[]) {}

  /** Follows one UID; `$objects[0]` ("$null") means no value. Inline values are returned as they are. */
  deref(v: PlistValue | undefined, what: string): PlistValue | undefined {
    if (!(v instanceof PlistUid)) return v;
    if (v.value === 0) return undefined;
    const o = this.objects[v.value];
    if (o === undefined) fail(`${what} refers to object ${v.value}, out of range`);
    return o;
  }

  /** The class name of an archived object dict. */
  className(obj: PlistDict, what: string): string {
    const cls = this.deref(obj.$class, `${what} $class`);
    if (!isPlistDict(cls)) fail(`${what} has no class dict (found ${kind(cls)})`);
    const name = cls.$classname;
    if (typeof name !== 'string') fail(`${what} class has no $classname`);
    return name;
  }

  string(v: PlistValue | undefined, what: string): string | undefined {
    const o = this.deref(v, what);
    if (o === undefined || typeof o === 'string') return o;
    if (isPlistDict(o) && 'NS.string' in o) {
      const s = o['NS.string'];
      if (typeof s === 'string') return s;
    }
    return fail(`${what} must be a string, found ${kind(o)}`);
  }

  data(v: PlistValue | undefined, what: string): Uint8Array | undefined {
    const o = this.deref(v, what);
    if (o === undefined || o instanceof Uint8Array) return o;
    if (isPlistDict(o) && 'NS.data' in o) {
      this.className(o, what);
      const d = this.deref(o['NS.data'], `${what} NS.data`);
      if (d instanceof Uint8Array) return d;
      fail(`${what} NS.data must be data, found ${kind(d)}`);
    }
    return fail(`${what} must be data, found ${kind(o)}`);
  }
}

function intField(v: PlistValue, key: string, field: MBFileIntKey): number | bigint {
  let n: number | bigint;
  if (typeof v === 'number' || typeof v === 'bigint') n = v;
  else if (v instanceof PlistReal && Number.isFinite(v.value) && TIME_FIELDS.has(field)) n = Math.trunc(v.value);
  else return fail(`${key} must be an integer, found ${kind(v)}`);
  // Some writers store a negative ID as its unsigned 64-bit twin (−2 as 2^64 − 2).
  if (ID_FIELDS.has(field) && typeof n === 'bigint') n = BigInt.asIntN(64, n);
  if (typeof n === 'bigint') {
    if (!BIG_FIELDS.has(field) && (n < Number.MIN_SAFE_INTEGER || n > Number.MAX_SAFE_INTEGER)) {
      fail(`${key} ${n} is out of range`);
    }
    if (!BIG_FIELDS.has(field)) return Number(n);
  }
  return n;
}

function decodeXattrs(bytes: Uint8Array): Record<string, Uint8Array> {
  const inner = parsePlist(bytes, LIMITS);
  if (!isPlistDict(inner)) fail(`ExtendedAttributes must hold a dict, found ${kind(inner)}`);
  const out: Record<string, Uint8Array> = {};
  for (const [name, value] of Object.entries(inner)) {
    if (!(value instanceof Uint8Array))
      fail(`extended attribute ${JSON.stringify(name)} must be data, found ${kind(value)}`);
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function readArchive(bytes: Uint8Array): { archive: Archive; root: PlistDict } {
  if (bytes.length > MAX_MBFILE_BYTES) fail(`${bytes.length} bytes is too large`);
  const top = parsePlist(bytes, LIMITS);
  if (!isPlistDict(top)) fail(`top level must be a dict, found ${kind(top)}`);
  if (top.$archiver !== 'NSKeyedArchiver') fail('$archiver is not "NSKeyedArchiver"');
  const version = top.$version;
  if (version !== undefined && typeof version !== 'number' && typeof version !== 'bigint') {
    fail(`$version must be an integer, found ${kind(version)}`);
  }
  const objects = top.$objects;
  if (!Array.isArray(objects)) fail(`$objects must be an array, found ${kind(objects)}`);
  checkAllUids(objects);
  const topDict = top.$top;
  if (!isPlistDict(topDict)) fail(`$top must be a dict, found ${kind(topDict)}`);
  const rootRef = topDict.root;
  if (!(rootRef instanceof PlistUid)) fail(`$top.root must be a UID, found ${kind(rootRef)}`);
  if (rootRef.value >= objects.length) fail(`$top.root ${rootRef.value} is out of range`);
  const archive = new Archive(objects);
  const root = archive.deref(rootRef, '$top.root');
  if (!isPlistDict(root)) fail(`root object must be a dict, found ${kind(root)}`);
  const cls = archive.className(root, 'root object');
  if (cls !== 'MBFile') fail(`root object is a ${cls}, not an MBFile`);
  return { archive, root };
}

/** Decodes a Manifest.db `file` record. Malformed input throws IbackupError PROTOCOL_DECODE. */
export function decodeMBFile(bytes: Uint8Array): MBFile {
  try {
    const { archive, root } = readArchive(bytes);
    const f: MBFile = {};
    for (const [key, field] of INT_FIELDS) {
      const v = archive.deref(root[key], key);
      if (v === undefined) continue;
      const n = intField(v, key, field);
      if (field === 'size' || field === 'inodeNumber') f[field] = n;
      else f[field] = Number(n); // intField returns a number for every other field
    }
    const relativePath = archive.string(root.RelativePath, 'RelativePath');
    if (relativePath !== undefined) f.relativePath = relativePath;
    const target = archive.string(root.Target, 'Target');
    if (target !== undefined) f.target = target;
    const digest = archive.data(root.Digest, 'Digest');
    if (digest !== undefined) f.digest = digest;
    const encryptionKey = archive.data(root.EncryptionKey, 'EncryptionKey');
    if (encryptionKey !== undefined) f.encryptionKey = encryptionKey;
    const xattrs = archive.data(root.ExtendedAttributes, 'ExtendedAttributes');
    if (xattrs !== undefined) f.extendedAttributes = decodeXattrs(xattrs);
    return f;
  } catch (err) {
    if (isIbackupError(err)) throw err;
    throw decodeError('MBFile archive could not be read', err);
  }
}
