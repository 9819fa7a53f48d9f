/**
 * The databases an export reads, taken out of a backup: the database file with its -wal and
 * -shm (when the backup has them) is copied, decrypted as needed, into a private temporary
 * folder and opened there, so the write-ahead log is applied and nothing is ever written into
 * the backup. A missing database is EXPORT_SOURCE_MISSING; a file that is not SQLite is
 * SCHEMA_UNKNOWN.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { BackupBrowser, BackupEntry } from '../backup/browse.js';
import { blobPresent } from '../backup/browse.js';
import { createPrivateTempDir, type PrivateTempDir } from '../backup/temp.js';
import { IbackupError } from '../errors.js';

export type Db = Database.Database;

/** What an export reads from: an open backup (plain or unlocked). */
export type ExportSource = Pick<BackupBrowser, 'entries' | 'chunks' | 'dir'>;

/** A file of the backup named by domain and relative path. */
export interface BackupFile {
  domain: string;
  relativePath: string;
}

/** The regular file at exactly this domain and path, or undefined. */
export function findFile(source: ExportSource, file: BackupFile): BackupEntry | undefined {
  for (const e of source.entries({ domain: file.domain })) {
    if (e.relativePath === file.relativePath && e.type === 'file') return e;
  }
  return undefined;
}

/** Streams a backup file's plaintext to `dest` (created exclusively). */
export async function copyOut(source: ExportSource, entry: BackupEntry, dest: string): Promise<number> {
  const out = createWriteStream(dest, { flags: 'wx', mode: 0o600 });
  let bytes = 0;
  try {
    for await (const chunk of source.chunks(entry)) {
      bytes += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return bytes;
}

/** One database opened from a private copy; `close` removes the copy. */
export interface OpenedDb {
  db: Db;
  close(): void;
}

function missing(what: string, file: BackupFile, why: string): IbackupError {
  return new IbackupError('EXPORT_SOURCE_MISSING', {
    message: `This backup has no ${what} to export: ${file.domain}/${file.relativePath} ${why}.`,
    details: { domain: file.domain, relativePath: file.relativePath },
  });
}

/** Copies the database and its -wal/-shm into `temp` and opens it (see the module comment). */
async function copyDatabase(source: ExportSource, file: BackupFile, what: string, temp: PrivateTempDir): Promise<Db> {
  const main = findFile(source, file);
  if (main === undefined) throw missing(what, file, 'is not in it');
  if (!blobPresent(main)) throw missing(what, file, "is listed, but its data is not in the backup's folder");
  const base = path.join(temp.path, 'db.sqlite');
  await copyOut(source, main, base);
  for (const suffix of ['-wal', '-shm']) {
    const side = findFile(source, { domain: file.domain, relativePath: `${file.relativePath}${suffix}` });
    if (side !== undefined && blobPresent(side)) await copyOut(source, side, `${base}${suffix}`);
  }
  try {
    const db = new Database(base, { fileMustExist: true });
    db.pragma('query_only = 1');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (err) {
    throw new IbackupError('SCHEMA_UNKNOWN', {
      message: `The ${what} in this backup (${file.domain}/${file.relativePath}) is not a readable SQLite database.`,
      cause: err,
    });
  }
}

/** Opens a database of the backup from a private copy (see the module comment). */
export async function openBackupDb(
  source: ExportSource,
  file: BackupFile,
  what: string,
  tempParent?: string,
): Promise<OpenedDb> {
  const temp = createPrivateTempDir(tempParent, 'ibackup-export-');
  try {
    const db = await copyDatabase(source, file, what, temp);
    return {
      db,
      close() {
        db.close();
        temp.remove();
      },
    };
  } catch (err) {
    temp.remove();
    throw err;
  }
}

/** Opens a database when the backup has it, else undefined (an optional source such as the address book). */
export async function openOptionalDb(
  source: ExportSource,
  file: BackupFile,
  what: string,
  tempParent?: string,
): Promise<OpenedDb | undefined> {
  try {
    return await openBackupDb(source, file, what, tempParent);
  } catch (err) {
    if (err instanceof IbackupError && (err.code === 'EXPORT_SOURCE_MISSING' || err.code === 'SCHEMA_UNKNOWN'))
      return undefined;
    throw err;
  }
}
