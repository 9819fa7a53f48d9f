/**
 * The device's own writer of the backup index: Manifest.db rows (fileID, domain, relativePath,
 * flags, MBFile), Manifest.plist and Status.plist, as backup-format.md describes them. The host
 * has an independent reader; the two never share code.
 */
import { hash, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { MBFile } from '../../../protocol/nskeyed.js';
import { serializeBinaryPlist, type PlistDict } from '../../../protocol/plist/index.js';
import type { DeviceEntry } from '../../content/model.js';
import { writeMBFile } from './mbfile-writer.js';

export const FLAG_FILE = 1;
export const FLAG_DIRECTORY = 2;
export const FLAG_SYMLINK = 4;

export function fileIdOf(domain: string, relativePath: string): string {
  return hash('sha1', `${domain}-${relativePath}`, 'hex');
}

export function flagsOf(e: DeviceEntry): number {
  return e.kind === 'file' ? FLAG_FILE : e.kind === 'directory' ? FLAG_DIRECTORY : FLAG_SYMLINK;
}

/** The MBFile record of an entry (encryption key added by the caller for encrypted backups). */
export function mbFileOf(e: DeviceEntry, extra: Partial<MBFile> = {}): MBFile {
  const f: MBFile = {
    relativePath: e.relativePath,
    lastModified: e.mtime,
    lastStatusChange: e.ctime,
    birth: e.birth,
    size: e.kind === 'file' ? e.size : 0,
    mode: e.mode,
    inodeNumber: e.inode,
    userId: e.uid,
    groupId: e.gid,
    flags: e.flags,
    protectionClass: e.protectionClass,
    ...extra,
  };
  if (e.target !== undefined) f.target = e.target;
  if (Object.keys(e.extendedAttributes).length > 0) f.extendedAttributes = { ...e.extendedAttributes };
  return f;
}

export interface ManifestRow {
  fileId: string;
  domain: string;
  relativePath: string;
  flags: number;
  file: Uint8Array;
}

const TABLES = [
  'CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB)',
  'CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)',
];
/** Built after the rows are in: one sort each instead of a tree update per row. */
const INDEXES = [
  'CREATE INDEX FilesDomainIdx ON Files(domain)',
  'CREATE INDEX FilesRelativePathIdx ON Files(relativePath)',
  'CREATE INDEX FilesFlagsIdx ON Files(flags)',
];

/** A row to make: the entry, the MBFile fields it adds, its fileID. */
export interface PendingRow {
  entry: DeviceEntry;
  extra?: Partial<MBFile>;
  fileId: string;
}

/**
 * Builds Manifest.db a slice of rows at a time, so that making and inserting the rows (a few
 * microseconds each, hundreds of thousands in a big backup) can fill the device's waits for the
 * host instead of running all at once after the last file. `finish` does what is left.
 */
export class ManifestDbBuilder {
  private readonly db = new Database(':memory:');
  private readonly insert: Database.Statement;
  private readonly queue: PendingRow[] = [];
  private next = 0;
  private closed = false;

  constructor() {
    try {
      this.db.pragma('page_size = 4096');
      this.db.pragma('user_version = 2');
      for (const sql of TABLES) this.db.exec(sql);
      this.insert = this.db.prepare('INSERT INTO Files (fileID, domain, relativePath, flags, file) VALUES (?, ?, ?, ?, ?)');
      this.db.exec('BEGIN');
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Queues a row; it is made and inserted by `work` or `finish`. */
  add(row: PendingRow): void {
    this.queue.push(row);
  }

  /** Makes and inserts up to `rows` queued rows; true while some are left. */
  work(rows: number): boolean {
    const end = Math.min(this.queue.length, this.next + rows);
    for (; this.next < end; this.next++) {
      const p = this.queue[this.next] as PendingRow;
      this.put(manifestRow(p.entry, p.extra, p.fileId));
    }
    if (this.next === this.queue.length) {
      this.queue.length = 0;
      this.next = 0;
    }
    return this.next < this.queue.length;
  }

  private put(r: ManifestRow): void {
    this.insert.run(r.fileId, r.domain, r.relativePath, r.flags, Buffer.from(r.file.buffer, r.file.byteOffset, r.file.byteLength));
  }

  /** Inserts what is left, builds the indexes and returns the database file's bytes; closes it. */
  finish(): Uint8Array {
    try {
      this.work(Infinity);
      this.db.exec('COMMIT');
      for (const sql of INDEXES) this.db.exec(sql);
      return this.db.serialize();
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

/** A row for an entry (`fileId` when the caller has it already). */
export function manifestRow(e: DeviceEntry, extra: Partial<MBFile> = {}, fileId = fileIdOf(e.domain, e.relativePath)): ManifestRow {
  return {
    fileId,
    domain: e.domain,
    relativePath: e.relativePath,
    flags: flagsOf(e),
    file: writeMBFile(mbFileOf(e, extra)),
  };
}

/** What the device remembers of a previous backup's row, to decide what changed. */
export interface PreviousRow {
  domain: string;
  relativePath: string;
  flags: number;
  file: Uint8Array;
}

/** Reads the Files table of a Manifest.db the host holds (plain bytes). */
export function readManifestDb(bytes: Uint8Array): Map<string, PreviousRow> {
  const db = new Database(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    const out = new Map<string, PreviousRow>();
    const rows = db.prepare('SELECT fileID, domain, relativePath, flags, file FROM Files').iterate() as IterableIterator<{
      fileID: unknown;
      domain: unknown;
      relativePath: unknown;
      flags: unknown;
      file: unknown;
    }>;
    for (const r of rows) {
      if (typeof r.fileID === 'string' && typeof r.domain === 'string' && typeof r.relativePath === 'string' && typeof r.flags === 'number' && r.file instanceof Uint8Array) {
        out.set(r.fileID, { domain: r.domain, relativePath: r.relativePath, flags: r.flags, file: r.file });
      }
    }
    return out;
  } finally {
    db.close();
  }
}

export type SnapshotState = 'uploading' | 'moving' | 'removing' | 'finished';

export interface StatusInfo {
  uuid: string;
  date: Date;
  isFull: boolean;
  backupState: 'new' | 'old' | 'empty';
}

export function newStatus(isFull: boolean, date: Date): StatusInfo {
  return { uuid: randomUUID().toUpperCase(), date, isFull, backupState: 'new' };
}

export function statusPlist(s: StatusInfo, state: SnapshotState): Uint8Array {
  return serializeBinaryPlist({
    BackupState: s.backupState,
    Date: s.date,
    IsFullBackup: s.isFull,
    SnapshotState: state,
    UUID: s.uuid,
    Version: '3.3',
  });
}

export interface ManifestPlistInput {
  date: Date;
  encrypted: boolean;
  wasPasscodeSet: boolean;
  keybag: Uint8Array;
  manifestKey?: Uint8Array;
  lockdown: PlistDict;
  applications: PlistDict;
  systemDomainsVersion: string;
}

export function manifestPlist(m: ManifestPlistInput): Uint8Array {
  const d: PlistDict = {
    BackupKeyBag: m.keybag,
    Version: '10.0',
    Date: m.date,
    SystemDomainsVersion: m.systemDomainsVersion,
    WasPasscodeSet: m.wasPasscodeSet,
    Lockdown: m.lockdown,
    Applications: m.applications,
    IsEncrypted: m.encrypted,
  };
  if (m.manifestKey) d.ManifestKey = m.manifestKey;
  return serializeBinaryPlist(d);
}
