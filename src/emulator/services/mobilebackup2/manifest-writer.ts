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
import { TableTreeWriter, writeIndexTree } from '../../sqlite/btree.js';
import { SqliteFileWriter } from '../../sqlite/database.js';
import { groupedOrder, textOrder } from '../../sqlite/order.js';

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

const FILES_SQL = 'CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB)';
const PROPERTIES_SQL = 'CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)';

/** A row to make: the entry, the MBFile fields it adds, its fileID. */
export interface PendingRow {
  entry: DeviceEntry;
  extra?: Partial<MBFile>;
  fileId: string;
}

/**
 * Builds Manifest.db a slice of rows at a time, so that making and writing the rows (a few
 * microseconds each, hundreds of thousands in a big backup) can fill the device's waits for the
 * host instead of running all at once after the last file. The file is written directly in
 * SQLite's format (src/emulator/sqlite): the Files table's pages as the rows come, its indexes
 * sorted once at the end — a bulk load instead of a B-tree update per row. `finish` does what is
 * left.
 */
export class ManifestDbBuilder {
  private readonly file = new SqliteFileWriter();
  private readonly rows = new TableTreeWriter(this.file.store);
  // The indexed columns by position (rowid - 1), and the UTF-8 lengths of the text ones.
  private readonly fileIds: string[] = [];
  private readonly domains: string[] = [];
  private readonly paths: string[] = [];
  private readonly flags: number[] = [];
  private readonly domainBytes: number[] = [];
  private readonly pathBytes: number[] = [];
  private readonly lengthOfDomain = new Map<string, number>();
  private readonly queue: PendingRow[] = [];
  private next = 0;

  /** Queues a row; it is made and written by `work` or `finish`. */
  add(row: PendingRow): void {
    this.queue.push(row);
  }

  /** Makes and writes up to `rows` queued rows; true while some are left. */
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
    let domainBytes = this.lengthOfDomain.get(r.domain);
    if (domainBytes === undefined) this.lengthOfDomain.set(r.domain, (domainBytes = Buffer.byteLength(r.domain)));
    const pathBytes = Buffer.byteLength(r.relativePath);
    this.fileIds.push(r.fileId);
    this.domains.push(r.domain);
    this.paths.push(r.relativePath);
    this.flags.push(r.flags);
    this.domainBytes.push(domainBytes);
    this.pathBytes.push(pathBytes);
    this.rows.append(this.fileIds.length, [r.fileId, r.domain, r.relativePath, r.flags, r.file], [Buffer.byteLength(r.fileId), domainBytes, pathBytes]);
  }

  /** Writes what is left and the indexes; returns the database file's bytes, in chunks. */
  finish(): Uint8Array[] {
    this.work(Infinity);
    const store = this.file.store;
    const byId = textOrder(this.fileIds);
    for (let i = 1; i < byId.length; i++) {
      const id = this.fileIds[byId[i] as number];
      if (id === this.fileIds[byId[i - 1] as number]) throw new Error(`two Manifest.db rows have the fileID ${id}`);
    }
    const index = (name: string, root: number, sql: string | null): void => this.file.add({ type: 'index', name, table: 'Files', root, sql });
    this.file.add({ type: 'table', name: 'Files', table: 'Files', root: this.rows.finish(), sql: FILES_SQL });
    index('sqlite_autoindex_Files_1', writeIndexTree(store, { order: byId, keys: this.fileIds }), null);
    this.file.add({ type: 'table', name: 'Properties', table: 'Properties', root: new TableTreeWriter(store).finish(), sql: PROPERTIES_SQL });
    this.file.add({ type: 'index', name: 'sqlite_autoindex_Properties_1', table: 'Properties', root: writeIndexTree(store, { order: [], keys: [] }), sql: null });
    const domains = { order: groupedOrder(this.domains), keys: this.domains, textBytes: this.domainBytes };
    index('FilesDomainIdx', writeIndexTree(store, domains), 'CREATE INDEX FilesDomainIdx ON Files(domain)');
    const paths = { order: textOrder(this.paths), keys: this.paths, textBytes: this.pathBytes };
    index('FilesRelativePathIdx', writeIndexTree(store, paths), 'CREATE INDEX FilesRelativePathIdx ON Files(relativePath)');
    index('FilesFlagsIdx', writeIndexTree(store, { order: groupedOrder(this.flags), keys: this.flags }), 'CREATE INDEX FilesFlagsIdx ON Files(flags)');
    return this.file.finish({ userVersion: 2 });
  }

  /** Drops the queued rows (the pages are ordinary memory). */
  close(): void {
    this.queue.length = 0;
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
