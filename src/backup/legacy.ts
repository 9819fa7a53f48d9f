/**
 * Manifest.mbdb, the index of iOS 4–9 backups (backup-format.md §5.7): the header
 * `mbdb\x05\x00`, then records until the end. Each record: five strings (u16 length, 0xFFFF =
 * null): domain, path, link target, digest, encryption key (LE u32 class ‖ wrapped key); 40 fixed
 * bytes (mode u16, inode u64, uid u32, gid u32, mtime u32, atime u32, ctime u32, size u64,
 * protection class u8, property count u8); then that many (name, value) string pairs. Blobs sit
 * flat in the backup folder, named by fileID.
 */
import path from 'node:path';
import { IbackupError } from '../errors.js';
import { expectedFileID, isWellFormedFileID } from './manifest-rows.js';
import type { FileKind } from './manifest-rows.js';

export const MANIFEST_MBDB_MAGIC = [0x6d, 0x62, 0x64, 0x62, 0x05, 0x00]; // "mbdb" 5 0
/** Refuse index files larger than this before reading them. */
export const MAX_MBDB_BYTES = 1 << 30;

export interface MbdbRecord {
  domain: string;
  relativePath: string;
  /** Symlink target. */
  target?: string;
  /** SHA-1 of the stored blob (20 bytes) when recorded. */
  digest?: Uint8Array;
  /** LE u32 class ‖ wrapped file key (encrypted backups). */
  encryptionKey?: Uint8Array;
  mode: number;
  inode: number | bigint;
  userId: number;
  groupId: number;
  /** Unix seconds. */
  lastModified: number;
  lastAccessed: number;
  lastStatusChange: number;
  size: number | bigint;
  protectionClass: number;
  /** Extended attributes, name → value bytes. */
  properties: Map<string, Uint8Array>;
  /** sha1(domain-relativePath). */
  fileID: string;
  /** From the mode's file type bits. */
  kind: FileKind;
}

const S_IFMT = 0o170000;

function kindOfMode(mode: number): FileKind {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    default:
      return 'unknown';
  }
}

function corrupt(problem: string, offset: number): IbackupError {
  return new IbackupError('BACKUP_CORRUPT', {
    message: `Manifest.mbdb: ${problem} at byte ${offset}.`,
    details: { file: 'Manifest.mbdb', offset },
  });
}

function big(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

class Reader {
  pos: number;
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) throw corrupt(`truncated ${what}`, this.pos);
  }
  raw(what: string): Uint8Array | undefined {
    this.need(2, what);
    const len = this.view.getUint16(this.pos);
    this.pos += 2;
    if (len === 0xffff) return undefined;
    this.need(len, what);
    const out = this.bytes.slice(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  text(what: string): string | undefined {
    const b = this.raw(what);
    if (b === undefined) return undefined;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      throw corrupt(`${what} is not UTF-8`, this.pos);
    }
  }
}

export interface MbdbParse {
  /** Every record read before the first damage (all of them when `error` is undefined). */
  records: MbdbRecord[];
  /** What stopped the reading (BACKUP_CORRUPT, with the byte offset), when something did. */
  error?: IbackupError;
}

function readRecord(r: Reader): MbdbRecord {
  const domain = r.text('domain') ?? '';
  const relativePath = r.text('path') ?? '';
  const target = r.text('link target');
  const digest = r.raw('digest');
  const encryptionKey = r.raw('encryption key');
  r.need(40, 'fixed fields');
  const v = r.view;
  const p = r.pos;
  const mode = v.getUint16(p);
  const rec: MbdbRecord = {
    domain,
    relativePath,
    mode,
    inode: big(v.getBigUint64(p + 2)),
    userId: v.getUint32(p + 10),
    groupId: v.getUint32(p + 14),
    lastModified: v.getUint32(p + 18),
    lastAccessed: v.getUint32(p + 22),
    lastStatusChange: v.getUint32(p + 26),
    size: big(v.getBigUint64(p + 30)),
    protectionClass: v.getUint8(p + 38),
    properties: new Map(),
    fileID: expectedFileID(domain, relativePath),
    kind: kindOfMode(mode),
  };
  const count = v.getUint8(p + 39);
  r.pos += 40;
  for (let i = 0; i < count; i++) {
    const name = r.text('property name') ?? '';
    rec.properties.set(name, r.raw('property value') ?? new Uint8Array(0));
  }
  if (target !== undefined) rec.target = target;
  if (digest !== undefined && digest.length > 0) rec.digest = digest;
  if (encryptionKey !== undefined && encryptionKey.length > 0) rec.encryptionKey = encryptionKey;
  return rec;
}

/** Reads a Manifest.mbdb as far as it is sound: the records before any damage, and the damage. */
export function parseMbdbPartly(bytes: Uint8Array): MbdbParse {
  if (bytes.length > MAX_MBDB_BYTES) return { records: [], error: corrupt(`${bytes.length} bytes is too large`, 0) };
  if (bytes.length < MANIFEST_MBDB_MAGIC.length || MANIFEST_MBDB_MAGIC.some((b, i) => bytes[i] !== b)) {
    return { records: [], error: corrupt('missing "mbdb\\x05\\x00" header', 0) };
  }
  const r = new Reader(bytes, MANIFEST_MBDB_MAGIC.length);
  const records: MbdbRecord[] = [];
  while (r.pos < bytes.length) {
    try {
      records.push(readRecord(r));
    } catch (err) {
      if (err instanceof IbackupError) return { records, error: err };
      throw err;
    }
  }
  return { records };
}

/** Parses a whole Manifest.mbdb. Malformed input throws BACKUP_CORRUPT. */
export function parseMbdb(bytes: Uint8Array): MbdbRecord[] {
  const { records, error } = parseMbdbPartly(bytes);
  if (error !== undefined) throw error;
  return records;
}

/** Where a legacy record's blob lives: flat in the backup folder. */
export function legacyBlobPath(backupDir: string, rec: MbdbRecord): string | undefined {
  return isWellFormedFileID(rec.fileID) ? path.join(backupDir, rec.fileID) : undefined;
}
