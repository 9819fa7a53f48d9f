/**
 * The index the backup browser pages through: every entry of a backup by domain and folder, with
 * its size and date, a per-domain summary and a trigram index of names for search. A backup's
 * Manifest.db is never written: the index is a database of its own, built once — for a plain
 * backup in a private cache folder (0700, files 0600) under ibackup's own folder, keyed by the
 * backup's path and checked against its Manifest.db (size, time, inode) before use; for an
 * encrypted backup in memory only (its file names are not written to disk in clear).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { BackupBrowser, BackupEntry } from './browse.js';
import { MANIFEST_DB } from './manifest-db.js';

export interface IndexRow {
  domain: string;
  relativePath: string;
  name: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  /** Seconds since 1970 (null when not recorded). */
  mtime: number | null;
}

export interface DomainRow {
  domain: string;
  files: number;
  bytes: number;
}

export interface Page<T> {
  rows: T[];
  total: number;
}

const SCHEMA = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE e (domain TEXT NOT NULL, parent TEXT NOT NULL, name TEXT NOT NULL, type INTEGER NOT NULL,
                  size INTEGER NOT NULL, mtime INTEGER);
  CREATE TABLE d (domain TEXT PRIMARY KEY, files INTEGER NOT NULL, bytes INTEGER NOT NULL);`;
const AFTER = `
  CREATE INDEX e_folder ON e (domain, parent, name);
  CREATE VIRTUAL TABLE s USING fts5 (name, content='e', content_rowid='rowid', tokenize='trigram');
  INSERT INTO s (s) VALUES ('rebuild');
  INSERT INTO d SELECT domain, sum(type = 1), sum(size) FROM e GROUP BY domain;`;

const TYPES = ['file', 'directory', 'symlink'] as const;
const TYPE_CODE: Record<string, number> = { file: 1, directory: 2, symlink: 3 };

/** What identifies the backup's index: its Manifest.db as it is now ('' when it cannot be read). */
export function backupFingerprint(dir: string): string {
  try {
    const s = statSync(path.join(dir, MANIFEST_DB));
    return `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return '';
  }
}

function split(relativePath: string): { parent: string; name: string } {
  const at = relativePath.lastIndexOf('/');
  return at < 0
    ? { parent: '', name: relativePath }
    : { parent: relativePath.slice(0, at), name: relativePath.slice(at + 1) };
}

function fill(db: Database.Database, entries: Iterable<BackupEntry>, key: string): void {
  db.exec(SCHEMA);
  const insert = db.prepare('INSERT INTO e VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const e of entries) {
      if (e.relativePath === '') continue;
      const { parent, name } = split(e.relativePath);
      const mtime = e.mtime === null ? null : Math.floor(e.mtime.getTime() / 1000);
      insert.run(e.domain, parent, name, TYPE_CODE[e.type] ?? 1, e.type === 'file' ? e.size : 0, mtime);
    }
  })();
  db.exec(AFTER);
  db.prepare('INSERT INTO meta VALUES (?, ?)').run('fingerprint', key);
}

function cachedIsCurrent(file: string, key: string): boolean {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT value FROM meta WHERE key = 'fingerprint'").get() as { value: string } | undefined;
      return row?.value === key;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

/** The cache file of a plain backup's index, built (under a temporary name, then renamed) unless current. */
function cachedIndex(view: BackupBrowser, cacheDir: string): Database.Database {
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const key = backupFingerprint(view.dir);
  const file = path.join(
    cacheDir,
    `${createHash('sha256').update(path.resolve(view.dir)).digest('hex').slice(0, 32)}.db`,
  );
  if (!cachedIsCurrent(file, key)) {
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const db = new Database(tmp);
      try {
        db.pragma('journal_mode = OFF');
        db.pragma('synchronous = OFF');
        fill(db, view.entries(), key);
      } finally {
        db.close();
      }
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }
  return new Database(file, { readonly: true, fileMustExist: true });
}

function toRow(r: {
  domain: string;
  parent: string;
  name: string;
  type: number;
  size: number;
  mtime: number | null;
}): IndexRow {
  return {
    domain: r.domain,
    relativePath: r.parent === '' ? r.name : `${r.parent}/${r.name}`,
    name: r.name,
    type: TYPES[r.type - 1] ?? 'file',
    size: r.size,
    mtime: r.mtime,
  };
}

export class BrowseIndex {
  private constructor(private readonly db: Database.Database) {}

  /** The index of `view`: cached under `cacheDir` for a plain backup, in memory for an encrypted one. */
  static open(view: BackupBrowser, cacheDir: string): BrowseIndex {
    if (!view.encrypted && view.format === 'manifest-db') return new BrowseIndex(cachedIndex(view, cacheDir));
    const db = new Database(':memory:');
    fill(db, view.entries(), 'memory');
    return new BrowseIndex(db);
  }

  domains(): DomainRow[] {
    return this.db.prepare('SELECT domain, files, bytes FROM d ORDER BY domain').all() as DomainRow[];
  }

  /** One page of a folder's entries, folders first, then by name. */
  children(domain: string, folder: string, offset: number, limit: number): Page<IndexRow> {
    const rows = this.db
      .prepare(
        'SELECT domain, parent, name, type, size, mtime FROM e WHERE domain = ? AND parent = ? ORDER BY type = 1, name LIMIT ? OFFSET ?',
      )
      .all(domain, folder, limit, offset) as Parameters<typeof toRow>[0][];
    const { n } = this.db
      .prepare('SELECT count(*) AS n FROM e WHERE domain = ? AND parent = ?')
      .get(domain, folder) as {
      n: number;
    };
    return { rows: rows.map(toRow), total: n };
  }

  /** Entries whose name contains `text` (any case), in domain and path order. */
  search(text: string, offset: number, limit: number): Page<IndexRow> {
    const q = text.trim();
    if (q === '') return { rows: [], total: 0 };
    const select = 'SELECT e.domain, e.parent, e.name, e.type, e.size, e.mtime FROM e';
    const [where, arg] =
      q.length >= 3
        ? ['e.rowid IN (SELECT rowid FROM s WHERE s MATCH ?)', `"${q.replace(/"/g, '""')}"`]
        : ["e.name LIKE ? ESCAPE '\\'", `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`];
    const rows = this.db
      .prepare(`${select} WHERE ${where} ORDER BY e.domain, e.parent, e.name LIMIT ? OFFSET ?`)
      .all(arg, limit, offset) as Parameters<typeof toRow>[0][];
    const { n } = this.db.prepare(`SELECT count(*) AS n FROM e WHERE ${where}`).get(arg) as { n: number };
    return { rows: rows.map(toRow), total: n };
  }

  close(): void {
    this.db.close();
  }
}
