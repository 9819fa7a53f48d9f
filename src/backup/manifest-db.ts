/**
 * Manifest.db, the SQLite index of a backup (backup-format.md §5), opened without ever writing
 * into the backup: read-only; a database flagged WAL or with a `Manifest.db-wal` beside it is read
 * from a private copy (SQLite would otherwise create `-wal`/`-shm` files next to it). Decrypted
 * databases are opened from memory or from a private temp folder.
 */
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { IbackupError } from '../errors.js';
import {
  FLAG_DIRECTORY,
  FLAG_FILE,
  FLAG_SYMLINK,
  globLiteralPrefix,
  globToRegExp,
  toManifestRow,
} from './manifest-rows.js';
import type { ManifestRow, RawFilesRow } from './manifest-rows.js';
import { createPrivateTempDir } from './temp.js';
import type { PrivateTempDir } from './temp.js';

export const MANIFEST_DB = 'Manifest.db';
/** The 16-byte magic every SQLite database starts with. */
export const SQLITE_MAGIC = 'SQLite format 3\0';
/** A WAL database without its -wal file is loaded into memory up to this size, else copied. */
export const MAX_IN_MEMORY_DB_BYTES = 512 << 20;

export interface ManifestDbOptions {
  /** The backup folder, so rows carry their blob path. */
  backupDir?: string;
  /** Parent of private temp folders (default: the system temp folder). */
  tempParent?: string;
}

export interface ManifestCounts {
  rows: number;
  files: number;
  directories: number;
  symlinks: number;
  /** Rows whose flags are not 1, 2 or 4. */
  other: number;
}

export interface IterateOptions {
  /** Only this exact domain. */
  domain?: string;
  /** Only rows with these flags. */
  flags?: number;
  /** In the table's own order instead of by domain and path (a reader that needs no order: a scan of the table, no sort). */
  unordered?: boolean;
}

export interface FindOptions {
  /** Glob over the domain. */
  domain?: string;
}

function dbCorrupt(what: string, cause?: unknown): IbackupError {
  return new IbackupError('BACKUP_CORRUPT', {
    message: `${MANIFEST_DB}: ${what}.`,
    details: { file: MANIFEST_DB },
    ...(cause === undefined ? {} : { cause }),
  });
}

function sqliteMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reads the first 100 bytes (the SQLite header) of a file. */
function readHeader(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const buf = new Uint8Array(100);
    const n = readSync(fd, buf, 0, 100, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** True when bytes start with the SQLite magic. */
export function isSqliteHeader(bytes: Uint8Array): boolean {
  if (bytes.length < SQLITE_MAGIC.length) return false;
  for (let i = 0; i < SQLITE_MAGIC.length; i++) if (bytes[i] !== SQLITE_MAGIC.charCodeAt(i)) return false;
  return true;
}

/** True when the file starts like a SQLite database (a plain Manifest.db); throws when it cannot be read. */
export function startsLikeSqlite(file: string): boolean {
  return isSqliteHeader(readHeader(file));
}

/** True when the header's read/write versions (bytes 18/19) say WAL. */
function isWalHeader(header: Uint8Array): boolean {
  return header[18] === 2 || header[19] === 2;
}

/** In a private in-memory copy, turns the WAL flag off so SQLite's memory VFS can read it. */
function clearWalFlag(bytes: Uint8Array): void {
  if (bytes.length >= 20 && isWalHeader(bytes)) {
    bytes[18] = 1;
    bytes[19] = 1;
  }
}

type Db = Database.Database;

/** One row of Manifest.db with its `file` record undecoded. */
export interface ManifestRecord {
  domain: string;
  relativePath: string;
  flags: number;
  file: Uint8Array | undefined;
}

export class ManifestDb {
  readonly #db: Db;
  readonly #temp: PrivateTempDir | undefined;
  readonly #backupDir: string | undefined;
  #closed = false;

  /** How the database was opened: in place, from a private copy, from memory. */
  readonly source: 'direct' | 'copy' | 'memory';

  private constructor(
    db: Db,
    source: 'direct' | 'copy' | 'memory',
    backupDir: string | undefined,
    temp?: PrivateTempDir,
  ) {
    this.#db = db;
    this.source = source;
    this.#backupDir = backupDir;
    this.#temp = temp;
    try {
      const cols = db.prepare("SELECT name FROM pragma_table_info('Files')").all() as Array<{ name: unknown }>;
      const names = new Set(cols.map((c) => c.name));
      const missing = ['fileID', 'domain', 'relativePath', 'flags', 'file'].filter((c) => !names.has(c));
      if (cols.length === 0) throw dbCorrupt('there is no Files table');
      if (missing.length > 0) throw dbCorrupt(`the Files table lacks column(s) ${missing.join(', ')}`);
    } catch (err) {
      this.close();
      if (err instanceof IbackupError) throw err;
      throw dbCorrupt(`not a readable SQLite database (${sqliteMessage(err)})`, err);
    }
  }

  /**
   * Opens an unencrypted Manifest.db without writing beside it. Throws BACKUP_CORRUPT when the file
   * is not SQLite (for example an encrypted one), ENOENT when it is missing.
   */
  static open(dbPath: string, options: ManifestDbOptions = {}): ManifestDb {
    const header = readHeader(dbPath);
    if (!isSqliteHeader(header)) throw dbCorrupt('not a SQLite database (encrypted, or damaged)');
    const wal = `${dbPath}-wal`;
    const hasWal = existsSync(wal);
    try {
      if (!hasWal && !isWalHeader(header)) {
        return new ManifestDb(
          new Database(dbPath, { readonly: true, fileMustExist: true }),
          'direct',
          options.backupDir,
        );
      }
      if (!hasWal && statSync(dbPath).size <= MAX_IN_MEMORY_DB_BYTES) {
        return ManifestDb.fromPlaintext(readFileSync(dbPath), options);
      }
      const temp = createPrivateTempDir(options.tempParent);
      try {
        const copy = path.join(temp.path, MANIFEST_DB);
        copyFileSync(dbPath, copy);
        if (hasWal) copyFileSync(wal, `${copy}-wal`);
        return ManifestDb.openPrivateFile(copy, temp, options);
      } catch (err) {
        temp.remove();
        throw err;
      }
    } catch (err) {
      if (err instanceof IbackupError) throw err;
      throw dbCorrupt(`cannot be opened (${sqliteMessage(err)})`, err);
    }
  }

  /** Opens a database held in memory (a decrypted Manifest.db, padding tail allowed). */
  static fromPlaintext(bytes: Uint8Array, options: ManifestDbOptions = {}): ManifestDb {
    if (!isSqliteHeader(bytes)) throw dbCorrupt('the decrypted data is not a SQLite database');
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    clearWalFlag(buf);
    let db: Db;
    try {
      db = new Database(buf, { readonly: true });
    } catch (err) {
      throw dbCorrupt(`cannot be opened (${sqliteMessage(err)})`, err);
    }
    return new ManifestDb(db, 'memory', options.backupDir);
  }

  /**
   * Opens a private copy (a decrypted or copied file in a private temp folder, which this object
   * then owns and removes on close). The copy may be written by SQLite (WAL replay).
   */
  static openPrivateFile(file: string, temp: PrivateTempDir, options: ManifestDbOptions = {}): ManifestDb {
    let db: Db;
    try {
      db = new Database(file, { fileMustExist: true });
    } catch (err) {
      temp.remove();
      throw dbCorrupt(`cannot be opened (${sqliteMessage(err)})`, err);
    }
    return new ManifestDb(db, 'copy', options.backupDir, temp);
  }

  #rows(sql: string, params: unknown[]): Generator<ManifestRow> {
    const stmt = this.#db.prepare(sql);
    const dir = this.#backupDir;
    function* gen(): Generator<ManifestRow> {
      try {
        for (const raw of stmt.iterate(...params)) yield toManifestRow(raw as RawFilesRow, dir);
      } catch (err) {
        if (err instanceof IbackupError) throw err;
        throw dbCorrupt(`reading rows failed (${sqliteMessage(err)})`, err);
      }
    }
    return gen();
  }

  /**
   * Streams rows (one SQLite step at a time), ordered by domain then relativePath. The connection
   * is busy until the iteration ends: finish or `return()` it before another query.
   */
  iterate(options: IterateOptions = {}): Generator<ManifestRow> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.domain !== undefined) {
      where.push('domain = ?');
      params.push(options.domain);
    }
    if (options.flags !== undefined) {
      where.push('flags = ?');
      params.push(options.flags);
    }
    const clause = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    const order = options.unordered === true ? '' : ' ORDER BY domain, relativePath';
    return this.#rows(`SELECT fileID, domain, relativePath, flags, file FROM Files${clause}${order}`, params);
  }

  /** Rows whose `<domain>/<relativePath>` matches a case-sensitive glob (and whose domain matches `options.domain`). */
  *find(pattern: string | undefined, options: FindOptions = {}): Generator<ManifestRow> {
    const full = pattern === undefined ? undefined : globToRegExp(pattern);
    const dom = options.domain === undefined ? undefined : globToRegExp(options.domain);
    // Narrow the SQL query to one domain when the pattern names it literally.
    let exactDomain: string | undefined;
    if (options.domain !== undefined && globLiteralPrefix(options.domain) === options.domain)
      exactDomain = options.domain;
    else if (pattern !== undefined) {
      const slash = pattern.indexOf('/');
      const head = slash === -1 ? undefined : pattern.slice(0, slash);
      if (head !== undefined && globLiteralPrefix(head) === head) exactDomain = head;
    }
    const iter = exactDomain === undefined ? this.iterate() : this.iterate({ domain: exactDomain });
    for (const row of iter) {
      if (dom !== undefined && !dom.test(row.domain)) continue;
      if (full !== undefined && !full.test(`${row.domain}/${row.relativePath}`)) continue;
      yield row;
    }
  }

  /**
   * Every row's domain, path, flags and its `file` record as stored, undecoded (comparing two
   * backups' records byte for byte is far cheaper than decoding them). Any order.
   */
  *records(): Generator<ManifestRecord> {
    const stmt = this.#db.prepare('SELECT domain, relativePath, flags, file FROM Files');
    try {
      for (const raw of stmt.iterate() as Iterable<RawFilesRow>) {
        if (typeof raw.domain !== 'string' || typeof raw.relativePath !== 'string') continue;
        const file = raw.file instanceof Uint8Array ? raw.file : undefined;
        yield { domain: raw.domain, relativePath: raw.relativePath, flags: Number(raw.flags), file };
      }
    } catch (err) {
      if (err instanceof IbackupError) throw err;
      throw dbCorrupt(`reading rows failed (${sqliteMessage(err)})`, err);
    }
  }

  /** The row of one domain + relative path (case-sensitive), if any. */
  get(domain: string, relativePath: string): ManifestRow | undefined {
    const raw = this.#db
      .prepare(
        'SELECT fileID, domain, relativePath, flags, file FROM Files WHERE domain = ? AND relativePath = ? LIMIT 1',
      )
      .get(domain, relativePath);
    return raw === undefined ? undefined : toManifestRow(raw as RawFilesRow, this.#backupDir);
  }

  /** The row with this fileID, if any. */
  getByFileID(fileID: string): ManifestRow | undefined {
    const raw = this.#db
      .prepare('SELECT fileID, domain, relativePath, flags, file FROM Files WHERE fileID = ? LIMIT 1')
      .get(fileID);
    return raw === undefined ? undefined : toManifestRow(raw as RawFilesRow, this.#backupDir);
  }

  /** Row counts by kind. */
  counts(): ManifestCounts {
    const rows = this.#db.prepare('SELECT flags, COUNT(*) AS n FROM Files GROUP BY flags').all() as Array<{
      flags: unknown;
      n: number;
    }>;
    const c: ManifestCounts = { rows: 0, files: 0, directories: 0, symlinks: 0, other: 0 };
    for (const { flags, n } of rows) {
      c.rows += n;
      if (flags === FLAG_FILE) c.files += n;
      else if (flags === FLAG_DIRECTORY) c.directories += n;
      else if (flags === FLAG_SYMLINK) c.symlinks += n;
      else c.other += n;
    }
    return c;
  }

  /** Distinct domains, sorted. */
  domains(): string[] {
    const rows = this.#db.prepare('SELECT DISTINCT domain FROM Files ORDER BY domain').all() as Array<{
      domain: unknown;
    }>;
    return rows.map((r) => r.domain).filter((d): d is string => typeof d === 'string');
  }

  /** The `Properties` table (empty on iOS ≥ 10.1; absent tables give an empty map). */
  properties(): Map<string, unknown> {
    const out = new Map<string, unknown>();
    try {
      const rows = this.#db.prepare('SELECT key, value FROM Properties').all() as Array<{
        key: unknown;
        value: unknown;
      }>;
      for (const r of rows) if (typeof r.key === 'string') out.set(r.key, r.value);
    } catch {
      // No Properties table: nothing to report.
    }
    return out;
  }

  /** Closes the database and removes any private copy. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#db.close();
    } finally {
      this.#temp?.remove();
    }
  }
}
