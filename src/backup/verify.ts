/**
 * Verification of a backup on disk (used by `ibackup verify`, the demo and tests): the top-level
 * plists, the snapshot state, every Manifest.db row and every regular file's blob, and with the
 * password every encrypted file's decryption. Problems are collected, never thrown; only "cannot
 * even start" conditions throw (no backup there, PASSWORD_REQUIRED, WRONG_PASSWORD, CANCELLED).
 */
import { IbackupError, isIbackupError } from '../errors.js';
import { looksLikeBackup, readBackupFolder } from './folder.js';
import type { BackupProblem, ProblemCode } from './folder.js';
import { missingManifestKeys } from './manifest.js';
import type { ManifestRow } from './manifest-rows.js';
import { openBackup } from './open.js';
import type { Backup } from './open.js';
import { checkBlob, checkRowShape } from './verify-row.js';

export interface VerifyOptions {
  password?: string | Uint8Array;
  /** A cached derived key (KEK) instead of the password. */
  derivedKey?: Uint8Array;
  /** Decrypt every file of an encrypted backup (default true). */
  decrypt?: boolean;
  /** Compare recorded Digests with the blobs (default true). */
  checkDigests?: boolean;
  /** Problems kept per code; more are only counted (default 200). */
  maxProblemsPerCode?: number;
  /** Blobs checked at the same time (default 16). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: VerifyProgress) => void;
  tempParent?: string;
}

export interface VerifyProgress {
  phase: 'verify';
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  currentPath?: string;
}

export interface VerifyCounts {
  /** Manifest.db rows. */
  rows: number;
  files: number;
  directories: number;
  symlinks: number;
  /** Rows with flags other than 1, 2, 4. */
  otherRows: number;
  /** Sum of the recorded Size of regular files. */
  bytes: number;
  /** Bytes of the blobs on disk. */
  blobBytes: number;
  blobsChecked: number;
  blobsMissing: number;
  digestsChecked: number;
  filesDecrypted: number;
  decryptedBytes: number;
  errors: number;
  warnings: number;
  /** Problems counted but not listed (over `maxProblemsPerCode`). */
  problemsOmitted: number;
}

export interface VerifyResult {
  /** True when no error-severity problem was found: the backup looks restorable. */
  ok: boolean;
  encrypted: boolean;
  /** True when the password (or derived key) opened the keybag. */
  passwordChecked: boolean;
  counts: VerifyCounts;
  problems: BackupProblem[];
}

const INFO_REQUIRED = ['Device Name', 'Product Version', 'Target Identifier'];

class Collector {
  readonly problems: BackupProblem[] = [];
  readonly perCode = new Map<ProblemCode, number>();
  omitted = 0;
  errors = 0;
  warnings = 0;
  constructor(readonly max: number) {}

  add(p: BackupProblem): void {
    if (p.severity === 'error') this.errors++;
    else this.warnings++;
    const n = (this.perCode.get(p.code) ?? 0) + 1;
    this.perCode.set(p.code, n);
    if (n > this.max) this.omitted++;
    else this.problems.push(p);
  }
}

function emptyCounts(): VerifyCounts {
  return {
    rows: 0, files: 0, directories: 0, symlinks: 0, otherRows: 0, bytes: 0, blobBytes: 0, blobsChecked: 0,
    blobsMissing: 0, digestsChecked: 0, filesDecrypted: 0, decryptedBytes: 0, errors: 0, warnings: 0, problemsOmitted: 0,
  };
}

function cancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new IbackupError('CANCELLED', { message: 'Verification was cancelled.' });
}

/** Verifies the backup in `dir`. */
export async function verifyBackup(dir: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  if (!looksLikeBackup(dir)) {
    throw new IbackupError('BACKUP_NOT_FOUND', { message: `No backup was found in ${dir}.`, details: { path: dir } });
  }
  const out = new Collector(options.maxProblemsPerCode ?? 200);
  const counts = emptyCounts();
  const folder = await readBackupFolder(dir);
  for (const p of folder.problems) out.add(p);
  if (folder.manifest !== undefined) {
    const missing = missingManifestKeys(folder.manifest);
    if (missing.length > 0) {
      out.add({ code: 'MANIFEST_KEYS_MISSING', message: `Manifest.plist lacks ${missing.join(', ')}.`, path: 'Manifest.plist', severity: 'error' });
    }
  }
  if (folder.info !== undefined) {
    const missing = INFO_REQUIRED.filter((k) => folder.info?.raw[k] === undefined);
    if (missing.length > 0) {
      out.add({ code: 'INFO_KEYS_MISSING', message: `Info.plist lacks ${missing.join(', ')}.`, path: 'Info.plist', severity: 'warning' });
    }
  }
  const encrypted = folder.manifest?.isEncrypted ?? false;
  const finish = (passwordChecked: boolean): VerifyResult => {
    counts.errors = out.errors;
    counts.warnings = out.warnings;
    counts.problemsOmitted = out.omitted;
    return { ok: out.errors === 0, encrypted, passwordChecked, counts, problems: out.problems };
  };
  if (!folder.hasManifestDb) {
    if (folder.hasManifestMbdb) {
      out.add({ code: 'LEGACY_FORMAT', message: 'This backup uses the iOS 9 and earlier format (Manifest.mbdb), which is not verified yet.', path: 'Manifest.mbdb', severity: 'error' });
    } else out.add({ code: 'MANIFEST_DB_MISSING', message: 'Manifest.db is missing.', path: 'Manifest.db', severity: 'error' });
    return finish(false);
  }

  let backup: Backup;
  try {
    backup = await openBackup(dir, {
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.derivedKey === undefined ? {} : { derivedKey: options.derivedKey }),
      ...(options.tempParent === undefined ? {} : { tempParent: options.tempParent }),
    });
  } catch (err) {
    if (isIbackupError(err) && err.code === 'BACKUP_CORRUPT') {
      out.add({ code: 'MANIFEST_DB_CORRUPT', message: err.message, path: 'Manifest.db', severity: 'error' });
      return finish(false);
    }
    throw err;
  }

  try {
    const total = backup.db.counts();
    const filesTotal = total.files;
    let bytesDone = 0;
    let filesDone = 0;
    const checkOptions = {
      keys: backup.keys,
      encrypted: backup.isEncrypted,
      decrypt: options.decrypt ?? true,
      checkDigests: options.checkDigests ?? true,
    };
    const concurrency = Math.max(1, options.concurrency ?? 16);
    let batch: ManifestRow[] = [];
    const flush = async (): Promise<void> => {
      const results = await Promise.all(batch.map((row) => checkBlob(row, checkOptions)));
      for (const [i, r] of results.entries()) {
        const row = batch[i] as ManifestRow;
        for (const p of r.problems) out.add(p);
        if (r.blobChecked) counts.blobsChecked++;
        if (r.blobMissing) counts.blobsMissing++;
        counts.blobBytes += r.blobBytes;
        if (r.digestChecked) counts.digestsChecked++;
        if (r.decrypted) counts.filesDecrypted++;
        counts.decryptedBytes += r.decryptedBytes;
        filesDone++;
        bytesDone += row.file?.size === undefined ? 0 : Number(row.file.size);
        options.onProgress?.({ phase: 'verify', filesDone, filesTotal, bytesDone, currentPath: `${row.domain}/${row.relativePath}` });
      }
      batch = [];
    };
    // One pass over the rows; blob checks run in batches while the SQLite cursor waits.
    for (const row of backup.db.iterate()) {
      counts.rows++;
      if (row.kind === 'file') counts.files++;
      else if (row.kind === 'directory') counts.directories++;
      else if (row.kind === 'symlink') counts.symlinks++;
      else counts.otherRows++;
      for (const p of checkRowShape(row, backup.isEncrypted)) out.add(p);
      if (row.kind !== 'file') continue;
      counts.bytes += row.file?.size === undefined ? 0 : Number(row.file.size);
      batch.push(row);
      if (batch.length >= concurrency) {
        cancelled(options.signal);
        await flush();
      }
    }
    await flush();
    return finish(backup.isEncrypted);
  } finally {
    backup.close();
  }
}
