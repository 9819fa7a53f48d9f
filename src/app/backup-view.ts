/**
 * One way to browse a backup, whatever its index: Manifest.db (iOS 10+) or Manifest.mbdb (iOS
 * 4–9, flat blobs), plain or encrypted. Entries carry what `files ls` shows; `chunks` streams a
 * regular file's plaintext (decrypted on the fly, bounded memory). The password is asked for only
 * when the backup is encrypted and no cached derived key opens it. Nothing is written into the
 * backup; a decrypted Manifest.db lives in memory or in a private temp folder.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decryptFile } from '../backup/crypto/decrypt.js';
import { unwrapClassWrappedKey } from '../backup/crypto/keybag-unlock.js';
import type { UnlockedKeybag } from '../backup/crypto/keybag-unlock.js';
import { MANIFEST_MBDB, readBackupFolder } from '../backup/folder.js';
import type { BackupProblem } from '../backup/folder.js';
import type { BackupInfo } from '../backup/info-plist.js';
import { legacyBlobPath, parseMbdb } from '../backup/legacy.js';
import type { MbdbRecord } from '../backup/legacy.js';
import type { ManifestPlist } from '../backup/manifest.js';
import { globToRegExp } from '../backup/manifest-rows.js';
import type { FileKind, ManifestRow } from '../backup/manifest-rows.js';
import { openBackup } from '../backup/open.js';
import type { Backup } from '../backup/open.js';
import type { BackupStatus } from '../backup/status.js';
import { IbackupError } from '../errors.js';
import { unlockBackupKeybag } from './password.js';
import type { UnlockOptions } from './password.js';

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

export interface BackupView {
  readonly dir: string;
  readonly format: 'manifest-db' | 'mbdb';
  readonly encrypted: boolean;
  readonly info: BackupInfo | undefined;
  readonly manifest: ManifestPlist | undefined;
  readonly status: BackupStatus | undefined;
  /** Top-level problems found while opening (missing plists, unfinished snapshot…). */
  readonly warnings: BackupProblem[];
  /** How an encrypted backup was opened; 'none' for a plain one. */
  readonly keySource: 'none' | 'password' | 'cache';
  /** Milliseconds spent unlocking the keybag (0 for a plain backup). */
  readonly unlockMs: number;
  /** Where `--save-key` stored the derived key. */
  readonly savedKeyTo: string | undefined;
  /** Entries in domain, then path order. */
  entries(filter?: EntryFilter): Generator<BackupEntry>;
  /** Plaintext of a regular file, chunk by chunk. */
  chunks(entry: BackupEntry): AsyncGenerator<Uint8Array>;
  close(): void;
}

export interface OpenViewOptions extends UnlockOptions {
  /** Parent of private temp folders (default: the system temp folder). */
  tempParent?: string;
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

/** Opens a backup folder for browsing (see the module comment). */
export async function openBackupView(dir: string, options: OpenViewOptions = {}): Promise<BackupView> {
  const folder = await readBackupFolder(dir);
  const encryptedByPlist = folder.manifest?.isEncrypted === true;
  let keys: UnlockedKeybag | undefined;
  let keySource: BackupView['keySource'] = 'none';
  let unlockMs = 0;
  let savedKeyTo: string | undefined;
  const keybag = folder.manifest?.backupKeyBag;
  if (encryptedByPlist && keybag !== undefined) {
    const r = await unlockBackupKeybag(keybag, options);
    keys = r.keys;
    keySource = r.source;
    unlockMs = r.unlockMs;
    savedKeyTo = r.savedTo;
  }
  const common = {
    dir,
    info: folder.info,
    manifest: folder.manifest,
    status: folder.status,
    keySource,
    unlockMs,
    savedKeyTo,
  };

  if (!folder.hasManifestDb && folder.hasManifestMbdb) {
    const records = parseMbdb(await readFile(path.join(dir, MANIFEST_MBDB)));
    records.sort((a, b) => (a.domain === b.domain ? cmp(a.relativePath, b.relativePath) : cmp(a.domain, b.domain)));
    return {
      ...common,
      format: 'mbdb',
      encrypted: encryptedByPlist,
      warnings: [...folder.problems],
      *entries(filter = {}) {
        const ok = matcher(filter);
        for (const rec of records) if (ok(rec.domain, rec.relativePath)) yield fromRecord(dir, rec);
      },
      chunks: (e) => {
        if (!('record' in e.source))
          throw new IbackupError('INTERNAL', { message: 'The entry does not belong to this backup.' });
        return legacyChunks(e, e.source.record, keys);
      },
      close: () => undefined,
    };
  }

  const backup: Backup = await openBackup(dir, {
    ...(keys === undefined ? {} : { derivedKey: keys.kek }),
    ...(options.tempParent === undefined ? {} : { tempParent: options.tempParent }),
  });
  return {
    ...common,
    format: 'manifest-db',
    encrypted: backup.isEncrypted,
    warnings: backup.warnings,
    *entries(filter = {}) {
      for (const row of backup.db.find(filter.pattern, filter.domain === undefined ? {} : { domain: filter.domain }))
        yield fromRow(row);
    },
    chunks: (e) => {
      if (!('row' in e.source))
        throw new IbackupError('INTERNAL', { message: 'The entry does not belong to this backup.' });
      return backup.fileChunks(e.source.row);
    },
    close: () => backup.close(),
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
