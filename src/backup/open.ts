/**
 * Opening one backup folder for reading, plain or encrypted: its plists, its Manifest.db (opened
 * read-only, or decrypted into memory / a private temp folder) and its files as streams
 * (decrypted when the backup is encrypted). Nothing is ever written into the backup.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { IbackupError } from '../errors.js';
import { concatBytes } from '../protocol/bytes.js';
import { readBackupKeybag, unlockKeybag, unlockWithDerivedKey } from './crypto/keybag-unlock.js';
import type { UnlockedKeybag } from './crypto/keybag-unlock.js';
import { decryptFile, fileKeyOf, openEncryptedManifestDb } from './crypto/decrypt.js';
import type { DecryptChunksOptions } from './crypto/decrypt.js';
import { looksLikeBackup, readBackupFolder } from './folder.js';
import type { BackupFolder, BackupProblem } from './folder.js';
import type { BackupInfo } from './info-plist.js';
import type { ManifestPlist } from './manifest.js';
import { MANIFEST_DB, ManifestDb, startsLikeSqlite } from './manifest-db.js';
import type { ManifestRow } from './manifest-rows.js';
import type { BackupStatus } from './status.js';

export interface OpenBackupOptions {
  /** The backup password (needed for an encrypted backup unless `derivedKey` is given). */
  password?: string | Uint8Array;
  /** A cached derived key (KEK) of this backup's keybag, instead of the password. */
  derivedKey?: Uint8Array;
  /** Where a decrypted Manifest.db lives: 'memory', 'temp' or 'auto' (default). */
  manifestDb?: 'memory' | 'temp' | 'auto';
  /** Parent of private temp folders (default: the system temp folder). */
  tempParent?: string;
}

export interface FileReadOptions {
  /** For encrypted files: 'padding' (default) or 'size' (cut at MBFile Size). */
  policy?: DecryptChunksOptions['policy'];
  /** Called at the end of an encrypted file with its plaintext length. */
  onEnd?: DecryptChunksOptions['onEnd'];
}

export interface Backup {
  readonly dir: string;
  readonly info: BackupInfo | undefined;
  readonly manifest: ManifestPlist | undefined;
  readonly status: BackupStatus | undefined;
  readonly isEncrypted: boolean;
  readonly db: ManifestDb;
  /** The unlocked keybag of an encrypted backup (its `kek` is the cacheable derived key). */
  readonly keys: UnlockedKeybag | undefined;
  /** Problems found while opening (missing or damaged plists, unfinished snapshot…). */
  readonly warnings: BackupProblem[];
  /** Plaintext chunks of a regular file. */
  fileChunks(row: ManifestRow, options?: FileReadOptions): AsyncGenerator<Uint8Array>;
  /** A Readable of a regular file's plaintext. */
  fileStream(row: ManifestRow, options?: FileReadOptions): Readable;
  /** A whole regular file's plaintext (for small files). */
  readFile(row: ManifestRow, options?: FileReadOptions): Promise<Uint8Array>;
  /** Closes Manifest.db and removes any private temp copy. */
  close(): void;
}

function rowName(row: ManifestRow): string {
  return `${row.domain}/${row.relativePath}`;
}

async function unlock(manifest: ManifestPlist | undefined, options: OpenBackupOptions): Promise<UnlockedKeybag> {
  const keybagBytes = manifest?.backupKeyBag;
  if (keybagBytes === undefined) {
    throw new IbackupError('BACKUP_CORRUPT', {
      message: 'The backup is encrypted but Manifest.plist has no BackupKeyBag.',
    });
  }
  const keybag = readBackupKeybag(keybagBytes);
  if (options.derivedKey !== undefined) return unlockWithDerivedKey(keybag, options.derivedKey);
  if (options.password === undefined) throw new IbackupError('PASSWORD_REQUIRED');
  return unlockKeybag(keybag, options.password);
}

async function openDb(
  folder: BackupFolder,
  encrypted: boolean,
  keys: UnlockedKeybag | undefined,
  options: OpenBackupOptions,
): Promise<ManifestDb> {
  const dbPath = path.join(folder.dir, MANIFEST_DB);
  const dbOptions = {
    backupDir: folder.dir,
    ...(options.tempParent === undefined ? {} : { tempParent: options.tempParent }),
  };
  // iOS 10.0/10.1 encrypted backups keep a plain Manifest.db; only 10.2+ encrypt it (ManifestKey).
  if (!encrypted || startsLikeSqlite(dbPath)) return ManifestDb.open(dbPath, dbOptions);
  const manifestKey = folder.manifest?.manifestKey;
  if (keys === undefined || manifestKey === undefined) {
    throw new IbackupError('BACKUP_CORRUPT', {
      message: 'Manifest.db is encrypted but Manifest.plist has no ManifestKey.',
    });
  }
  return openEncryptedManifestDb(dbPath, keys, manifestKey, {
    ...dbOptions,
    ...(options.manifestDb === undefined ? {} : { mode: options.manifestDb }),
  });
}

/** The folder must hold a Manifest.db: why it cannot be read otherwise. */
function refuseWithoutManifestDb(folder: BackupFolder): void {
  if (folder.hasManifestDb) return;
  if (folder.hasManifestMbdb) {
    throw new IbackupError('BACKUP_CORRUPT', {
      message: 'This backup uses the iOS 9 and earlier format (Manifest.mbdb), which cannot be read yet.',
      remedy: 'Make a new backup of the device with ibackup.',
    });
  }
  if (folder.hasSnapshotFolder)
    throw new IbackupError('BACKUP_INCOMPLETE', {
      message: `The backup in ${folder.dir} was interrupted before it finished.`,
    });
  throw new IbackupError('BACKUP_CORRUPT', { message: `Manifest.db is missing from ${folder.dir}.` });
}

/** The blob of a regular file's row. */
function blobOf(row: ManifestRow): string {
  if (row.kind !== 'file')
    throw new IbackupError('USAGE', { message: `${rowName(row)} is a ${row.kind}, not a regular file.` });
  if (row.blobPath === undefined)
    throw new IbackupError('BACKUP_CORRUPT', {
      message: `${rowName(row)}: the fileID ${JSON.stringify(row.fileID)} is malformed.`,
    });
  return row.blobPath;
}

/** Plaintext chunks of a regular file: read as is, or decrypted with its key from `keys`. */
async function* fileChunksOf(
  row: ManifestRow,
  keys: UnlockedKeybag | undefined,
  opts: FileReadOptions = {},
): AsyncGenerator<Uint8Array> {
  const blob = blobOf(row);
  try {
    if (keys === undefined) {
      for await (const chunk of createReadStream(blob, { highWaterMark: 1 << 20 })) yield chunk as Uint8Array;
      return;
    }
    const key = fileKeyOf(keys, row);
    yield* decryptFile(blob, key, {
      what: rowName(row),
      ...(row.file?.size === undefined ? {} : { size: row.file.size }),
      ...(opts.policy === undefined ? {} : { policy: opts.policy }),
      ...(opts.onEnd === undefined ? {} : { onEnd: opts.onEnd }),
    });
  } catch (err) {
    if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT') {
      throw new IbackupError('BACKUP_CORRUPT', {
        message: `${rowName(row)}: its file is missing from the backup.`,
        details: { fileID: row.fileID },
      });
    }
    throw err;
  }
}

/**
 * Opens a backup folder. Throws BACKUP_NOT_FOUND (no backup there), BACKUP_INCOMPLETE (no
 * Manifest.db and a Snapshot folder left over), BACKUP_CORRUPT, PASSWORD_REQUIRED or
 * WRONG_PASSWORD; missing or damaged plists become `warnings` where reading can go on.
 */
export async function openBackup(dir: string, options: OpenBackupOptions = {}): Promise<Backup> {
  if (!looksLikeBackup(dir)) {
    throw new IbackupError('BACKUP_NOT_FOUND', { message: `No backup was found in ${dir}.`, details: { path: dir } });
  }
  const folder = await readBackupFolder(dir);
  const warnings = [...folder.problems];
  refuseWithoutManifestDb(folder);
  const encrypted =
    folder.manifest !== undefined ? folder.manifest.isEncrypted : !startsLikeSqlite(path.join(dir, MANIFEST_DB));
  const keys = encrypted ? await unlock(folder.manifest, options) : undefined;
  const db = await openDb(folder, encrypted, keys, options);
  const fileChunks = (row: ManifestRow, opts?: FileReadOptions): AsyncGenerator<Uint8Array> =>
    fileChunksOf(row, keys, opts);
  return {
    dir,
    info: folder.info,
    manifest: folder.manifest,
    status: folder.status,
    isEncrypted: encrypted,
    db,
    keys,
    warnings,
    fileChunks,
    fileStream: (row, opts) => Readable.from(fileChunks(row, opts), { objectMode: false }),
    async readFile(row, opts) {
      const parts: Uint8Array[] = [];
      let n = 0;
      for await (const p of fileChunks(row, opts)) {
        parts.push(p);
        n += p.length;
      }
      return concatBytes(parts, n);
    },
    close: () => db.close(),
  };
}
