/**
 * The device's own writer of the backup index: Manifest.db rows (fileID, domain, relativePath,
 * flags, MBFile), Manifest.plist and Status.plist, as backup-format.md describes them. The host
 * has an independent reader; the two share only protocol/'s tables and the file-ID hash, never
 * the code that lays out or reads rows.
 */
import { randomUUID } from 'node:crypto';
import { fileIdOf } from '../../../protocol/crypto.js';
import { FLAG_DIRECTORY, FLAG_FILE, FLAG_SYMLINK } from '../../../protocol/manifest-flags.js';
import Database from 'better-sqlite3';
import type { MBFile } from '../../../protocol/nskeyed.js';
import { serializeBinaryPlist, type PlistDict } from '../../../protocol/plist/index.js';
import type { DeviceEntry } from '../../content/model.js';
import { PlainMBFile, writeMBFile } from './mbfile-writer.js';
import { TableTreeWriter, indexTreeSteps, writeIndexTree } from '../../sqlite/btree.js';
import { SqliteFileWriter } from '../../sqlite/database.js';
import type { SqlValue } from '../../sqlite/record.js';
import { groupedOrder, textOrderSteps } from '../../sqlite/order.js';
import { complete, type Steps } from '../../sqlite/steps.js';

export { fileIdOf };

export function flagsOf(e: DeviceEntry): number {
  return e.kind === 'file' ? FLAG_FILE : e.kind === 'directory' ? FLAG_DIRECTORY : FLAG_SYMLINK;
}

/** True when `o` has an own or inherited enumerable key (without listing them all). */
function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** The MBFile record of an entry (encryption key added by the caller for encrypted backups). */
export function mbFileOf(e: DeviceEntry, extra?: Partial<MBFile>): MBFile {
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
  };
  if (extra && hasKeys(extra)) Object.assign(f, extra);
  if (e.target !== undefined) f.target = e.target;
  if (hasKeys(e.extendedAttributes)) f.extendedAttributes = { ...e.extendedAttributes };
  return f;
}

export interface ManifestRow {
  fileId: string;
  domain: string;
  relativePath: string;
  flags: number;
  file: Uint8Array;
}

const FILES_SQL =
  'CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB)';
const PROPERTIES_SQL = 'CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)';

/** A row to make: the entry, the MBFile fields it adds, its fileID. */
export interface PendingRow {
  entry: DeviceEntry;
  extra?: Partial<MBFile>;
  fileId: string;
}

/**
 * Builds Manifest.db a slice at a time, so that making and writing the rows (a few microseconds
 * each, hundreds of thousands in a big backup) and sorting and writing the indexes can fill the
 * device's waits for the host instead of running all at once after the last file. The file is
 * written directly in SQLite's format (src/emulator/sqlite): the Files table's pages as the rows
 * come, each index sorted and built bottom-up once every row is known (`seal`). `finish` does what
 * is left.
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
  /** Rows added; those before `next` are written (and let go). */
  private readonly queue: Array<PendingRow | undefined> = [];
  private next = 0;
  private readonly plain = new PlainMBFile();
  // One row's values and text lengths, refilled for each row.
  private readonly values: SqlValue[] = ['', '', '', 0, null];
  private readonly textBytes = [0, 0, 0];
  /** The index roots by name, once built; the steps building them once sealed. */
  private readonly roots = new Map<string, number>();
  private indexes: Steps<void> | undefined;
  private indexesDone = false;

  /** Adds a row (its rowid is the count so far); it is written by `work` or `finish`. */
  add(row: PendingRow): void {
    if (this.indexes) throw new Error('Manifest.db is sealed: no row can be added');
    const e = row.entry;
    let domainBytes = this.lengthOfDomain.get(e.domain);
    if (domainBytes === undefined) this.lengthOfDomain.set(e.domain, (domainBytes = Buffer.byteLength(e.domain)));
    this.fileIds.push(row.fileId);
    this.domains.push(e.domain);
    this.paths.push(e.relativePath);
    this.flags.push(flagsOf(e));
    this.domainBytes.push(domainBytes);
    this.pathBytes.push(Buffer.byteLength(e.relativePath));
    this.queue.push(row);
  }

  /** No more rows: the indexes can be built (by `work`, in slices). */
  seal(): void {
    this.indexes ??= this.indexSteps();
  }

  /** Writes up to `rows` rows, or else does a step of the indexes; true while work is left. */
  work(rows: number): boolean {
    if (this.next < this.queue.length) {
      const end = Math.min(this.queue.length, this.next + rows);
      for (; this.next < end; this.next++) this.put(this.next);
      return true;
    }
    if (!this.indexes || this.indexesDone) return false;
    this.indexesDone = this.indexes.next().done === true;
    return !this.indexesDone;
  }

  /** Writes the row at `position`. */
  private put(position: number): void {
    const p = this.queue[position] as PendingRow;
    const f = mbFileOf(p.entry, p.extra);
    const v = this.values;
    v[0] = this.fileIds[position] as string;
    v[1] = this.domains[position] as string;
    v[2] = this.paths[position] as string;
    v[3] = this.flags[position] as number;
    v[4] = this.plain.set(f) ? this.plain : writeMBFile(f);
    const t = this.textBytes;
    t[0] = Buffer.byteLength(v[0]);
    t[1] = this.domainBytes[position] as number;
    t[2] = this.pathBytes[position] as number;
    this.rows.append(position + 1, v, t);
    this.queue[position] = undefined;
  }

  private *indexSteps(): Steps<void> {
    const store = this.file.store;
    const byId = yield* textOrderSteps(this.fileIds);
    for (let i = 1; i < byId.length; i++) {
      const id = this.fileIds[byId[i] as number];
      if (id === this.fileIds[byId[i - 1] as number]) throw new Error(`two Manifest.db rows have the fileID ${id}`);
    }
    this.roots.set('sqlite_autoindex_Files_1', yield* indexTreeSteps(store, { order: byId, keys: this.fileIds }));
    const domains = { order: groupedOrder(this.domains), keys: this.domains, textBytes: this.domainBytes };
    yield;
    this.roots.set('FilesDomainIdx', yield* indexTreeSteps(store, domains));
    const paths = { order: yield* textOrderSteps(this.paths), keys: this.paths, textBytes: this.pathBytes };
    this.roots.set('FilesRelativePathIdx', yield* indexTreeSteps(store, paths));
    const flags = { order: groupedOrder(this.flags), keys: this.flags };
    yield;
    this.roots.set('FilesFlagsIdx', yield* indexTreeSteps(store, flags));
  }

  /** Writes what is left; returns the database file's bytes, in chunks. */
  finish(): Uint8Array[] {
    this.seal();
    while (this.next < this.queue.length) this.put(this.next++);
    if (!this.indexesDone) complete(this.indexes as Steps<void>);
    this.indexesDone = true;
    const store = this.file.store;
    const root = (name: string): number => this.roots.get(name) as number;
    const index = (name: string, sql: string | null): void =>
      this.file.add({ type: 'index', name, table: 'Files', root: root(name), sql });
    this.file.add({ type: 'table', name: 'Files', table: 'Files', root: this.rows.finish(), sql: FILES_SQL });
    index('sqlite_autoindex_Files_1', null);
    this.file.add({
      type: 'table',
      name: 'Properties',
      table: 'Properties',
      root: new TableTreeWriter(store).finish(),
      sql: PROPERTIES_SQL,
    });
    this.file.add({
      type: 'index',
      name: 'sqlite_autoindex_Properties_1',
      table: 'Properties',
      root: writeIndexTree(store, { order: [], keys: [] }),
      sql: null,
    });
    index('FilesDomainIdx', 'CREATE INDEX FilesDomainIdx ON Files(domain)');
    index('FilesRelativePathIdx', 'CREATE INDEX FilesRelativePathIdx ON Files(relativePath)');
    index('FilesFlagsIdx', 'CREATE INDEX FilesFlagsIdx ON Files(flags)');
    return this.file.finish({ userVersion: 2 });
  }

  /** Drops the rows not written (the pages are ordinary memory). */
  close(): void {
    this.queue.length = 0;
    this.next = 0;
  }
}

/** A row for an entry (`fileId` when the caller has it already). */
export function manifestRow(
  e: DeviceEntry,
  extra: Partial<MBFile> = {},
  fileId = fileIdOf(e.domain, e.relativePath),
): ManifestRow {
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
    const rows = db
      .prepare('SELECT fileID, domain, relativePath, flags, file FROM Files')
      .iterate() as IterableIterator<{
      fileID: unknown;
      domain: unknown;
      relativePath: unknown;
      flags: unknown;
      file: unknown;
    }>;
    for (const r of rows) {
      if (
        typeof r.fileID === 'string' &&
        typeof r.domain === 'string' &&
        typeof r.relativePath === 'string' &&
        typeof r.flags === 'number' &&
        r.file instanceof Uint8Array
      ) {
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
