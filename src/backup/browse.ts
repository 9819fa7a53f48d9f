/**
 * Browsing one backup's entries, whatever its index: Manifest.db (iOS 10+) or Manifest.mbdb (iOS
 * 4–9, flat blobs), plain or encrypted (with its keybag already unlocked). Entries carry what
 * `files ls` shows; `chunks` streams a regular file's plaintext (decrypted on the fly, bounded
 * memory). Nothing is written into the backup; a decrypted Manifest.db lives in memory or in a
 * private temp folder.
 */
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { IbackupError } from '../errors.js';
import { decryptFile } from './crypto/decrypt.js';
import { unwrapClassWrappedKey } from './crypto/keybag-unlock.js';
import type { UnlockedKeybag } from './crypto/keybag-unlock.js';
import { MANIFEST_MBDB } from './folder.js';
import type { BackupFolder, BackupProblem } from './folder.js';
import type { BackupInfo } from './info-plist.js';
import { legacyBlobPath, parseMbdb } from './legacy.js';
import type { MbdbRecord } from './legacy.js';
import type { ManifestPlist } from './manifest.js';
import { globToRegExp } from './manifest-rows.js';
import type { FileKind, ManifestRow } from './manifest-rows.js';
import { openBackup } from './open.js';
import type { ManifestRecord } from './manifest-db.js';
import type { BackupStatus } from './status.js';

export interface BackupEntry {
  domain: string;
  relativePath: string;
  fileID: string;
  type: FileKind;
  /** Recorded size in bytes (0 for directories and links). */
  size: number;
  /** POSIX st_mode, when recorded. */
  mode: number | null;
  mtime: Date | null;
  protectionClass: number | null;
  /** Symlink target. */
  target?: string;
  /** Where a regular file's blob should be (undefined for a malformed fileID). */
  blobPath?: string;
  /** Why the row is damaged, when it is (it is still listed). */
  problem?: string;
  /** The Manifest.db row or the Manifest.mbdb record behind the entry. */
  source: { row: ManifestRow } | { record: MbdbRecord };
}

export interface EntryFilter {
  /** Case-sensitive glob over `<domain>/<relativePath>`. */
  pattern?: string;
  /** Glob over the domain. */
  domain?: string;
}

/** A problem of the backup as `files` commands report it. */
export interface FilesWarning {
  code: string;
  message: string;
  path?: string;
}

export interface BackupBrowser {
  readonly dir: string;
  readonly format: 'manifest-db' | 'mbdb';
  readonly encrypted: boolean;
  readonly info: BackupInfo | undefined;
  readonly manifest: ManifestPlist | undefined;
  readonly status: BackupStatus | undefined;
  /** Top-level problems found while opening (missing plists, unfinished snapshot…). */
  readonly warnings: BackupProblem[];
  /** Entries in domain, then path order. */
  entries(filter?: EntryFilter): Generator<BackupEntry>;
  /** The entry at exactly this domain and relative path, if any (one indexed lookup where the format allows). */
  entry(domain: string, relativePath: string): BackupEntry | undefined;
  /** Manifest.db's rows with their records undecoded (iOS 10+ backups only): for fast comparisons. */
  records?(): Generator<ManifestRecord>;
  /** Plaintext of a regular file, chunk by chunk. */
  chunks(entry: BackupEntry): AsyncGenerator<Uint8Array>;
  close(): void;
}

export interface BrowseOptions {
  /** Parent of private temp folders (default: the system temp folder). */
  tempParent?: string;
}

export function toWarning(p: BackupProblem): FilesWarning {
  return { code: p.code, message: p.message, ...(p.path === undefined ? {} : { path: p.path }) };
}

/** For a regular file: its blob is in the backup (directories and links have none). */
export function blobPresent(e: BackupEntry): boolean {
  return e.type === 'file' && e.blobPath !== undefined && existsSync(e.blobPath);
}

function dateOf(seconds: number | undefined): Date | null {
  return seconds === undefined || !Number.isFinite(seconds) ? null : new Date(seconds * 1000);
}

function fromRow(row: ManifestRow): BackupEntry {
  const f = row.file;
  const problems = [...(row.columnProblems ?? []), ...(row.fileError === undefined ? [] : [row.fileError])];
  return {
    domain: row.domain,
    relativePath: row.relativePath,
    fileID: row.fileID,
    type: row.kind,
    size: f?.size === undefined ? 0 : Number(f.size),
    mode: f?.mode ?? null,
    mtime: dateOf(f?.lastModified),
    protectionClass: f?.protectionClass ?? null,
    ...(f?.target === undefined ? {} : { target: f.target }),
    ...(row.kind === 'file' && row.blobPath !== undefined ? { blobPath: row.blobPath } : {}),
    ...(problems.length === 0 ? {} : { problem: problems.join('; ') }),
    source: { row },
  };
}

function fromRecord(dir: string, rec: MbdbRecord): BackupEntry {
  const blob = rec.kind === 'file' ? legacyBlobPath(dir, rec) : undefined;
  return {
    domain: rec.domain,
    relativePath: rec.relativePath,
    fileID: rec.fileID,
    type: rec.kind,
    size: Number(rec.size),
    mode: rec.mode,
    mtime: dateOf(rec.lastModified),
    protectionClass: rec.protectionClass,
    ...(rec.target === undefined ? {} : { target: rec.target }),
    ...(blob === undefined ? {} : { blobPath: blob }),
    source: { record: rec },
  };
}

function matcher(filter: EntryFilter): (domain: string, relativePath: string) => boolean {
  const full = filter.pattern === undefined ? undefined : globToRegExp(filter.pattern);
  const dom = filter.domain === undefined ? undefined : globToRegExp(filter.domain);
  return (domain, rel) =>
    (dom === undefined || dom.test(domain)) && (full === undefined || full.test(`${domain}/${rel}`));
}

function isEnoent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

function nameOf(e: BackupEntry): string {
  return `${e.domain}/${e.relativePath}`;
}

async function* legacyChunks(
  e: BackupEntry,
  rec: MbdbRecord,
  keys: UnlockedKeybag | undefined,
): AsyncGenerator<Uint8Array> {
  if (e.type !== 'file')
    throw new IbackupError('USAGE', { message: `${nameOf(e)} is a ${e.type}, not a regular file.` });
  if (e.blobPath === undefined)
    throw new IbackupError('BACKUP_CORRUPT', { message: `${nameOf(e)}: its file name cannot be made.` });
  try {
    if (keys === undefined) {
      for await (const chunk of createReadStream(e.blobPath, { highWaterMark: 1 << 20 })) yield chunk as Uint8Array;
      return;
    }
    if (rec.encryptionKey === undefined)
      throw new IbackupError('BACKUP_CORRUPT', { message: `${nameOf(e)}: the file has no EncryptionKey.` });
    const key = unwrapClassWrappedKey(keys, rec.encryptionKey, nameOf(e));
    yield* decryptFile(e.blobPath, key, { what: nameOf(e), size: rec.size });
  } catch (err) {
    if (isEnoent(err))
      throw new IbackupError('BACKUP_CORRUPT', {
        message: `${nameOf(e)}: its file is missing from the backup.`,
        details: { fileID: e.fileID },
      });
    throw err;
  }
}

function notOurs(): IbackupError {
  return new IbackupError('INTERNAL', { message: 'The entry does not belong to this backup.' });
}

/** An iOS 9 and earlier backup: every record of Manifest.mbdb, sorted, files stored flat. */
async function browseMbdb(folder: BackupFolder, keys: UnlockedKeybag | undefined): Promise<BackupBrowser> {
  const dir = folder.dir;
  const records = parseMbdb(await readFile(path.join(dir, MANIFEST_MBDB)));
  records.sort((a, b) => (a.domain === b.domain ? cmp(a.relativePath, b.relativePath) : cmp(a.domain, b.domain)));
  return {
    dir,
    info: folder.info,
    manifest: folder.manifest,
    status: folder.status,
    format: 'mbdb',
    encrypted: folder.manifest?.isEncrypted === true,
    warnings: [...folder.problems],
    *entries(filter = {}) {
      const ok = matcher(filter);
      for (const rec of records) if (ok(rec.domain, rec.relativePath)) yield fromRecord(dir, rec);
    },
    entry(domain, relativePath) {
      const rec = records.find((r) => r.domain === domain && r.relativePath === relativePath);
      return rec === undefined ? undefined : fromRecord(dir, rec);
    },
    chunks: (e) => {
      if (!('record' in e.source)) throw notOurs();
      return legacyChunks(e, e.source.record, keys);
    },
    close: () => undefined,
  };
}

/** An iOS 10 and later backup: its Manifest.db, opened read-only (or decrypted privately). */
async function browseManifestDb(
  folder: BackupFolder,
  keys: UnlockedKeybag | undefined,
  options: BrowseOptions,
): Promise<BackupBrowser> {
  const backup = await openBackup(folder.dir, {
    ...(keys === undefined ? {} : { derivedKey: keys.kek }),
    ...(options.tempParent === undefined ? {} : { tempParent: options.tempParent }),
  });
  return {
    dir: folder.dir,
    info: folder.info,
    manifest: folder.manifest,
    status: folder.status,
    format: 'manifest-db',
    encrypted: backup.isEncrypted,
    warnings: backup.warnings,
    *entries(filter = {}) {
      for (const row of backup.db.find(filter.pattern, filter.domain === undefined ? {} : { domain: filter.domain }))
        yield fromRow(row);
    },
    records: () => backup.db.records(),
    entry(domain, relativePath) {
      const row = backup.db.get(domain, relativePath);
      return row === undefined ? undefined : fromRow(row);
    },
    chunks: (e) => {
      if (!('row' in e.source)) throw notOurs();
      return backup.fileChunks(e.source.row);
    },
    close: () => backup.close(),
  };
}

/**
 * Opens the entries of the backup folder `folder` (read with readBackupFolder); `keys` is its
 * unlocked keybag when it is encrypted.
 */
export function browseBackup(
  folder: BackupFolder,
  keys: UnlockedKeybag | undefined,
  options: BrowseOptions = {},
): Promise<BackupBrowser> {
  if (!folder.hasManifestDb && folder.hasManifestMbdb) return browseMbdb(folder, keys);
  return browseManifestDb(folder, keys, options);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
