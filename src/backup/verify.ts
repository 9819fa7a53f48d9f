/**
 * Verification of a backup on disk (used by `ibackup verify`, the demo and tests): the top-level
 * plists, the snapshot state, every entry of the index (Manifest.db rows; Manifest.mbdb records
 * for iOS 9 and earlier, see verify-legacy.ts) and every regular file's blob, and with the
 * password every encrypted file's decryption. Problems are collected, never thrown; only "cannot
 * even start" conditions throw (no backup there, PASSWORD_REQUIRED, WRONG_PASSWORD, CANCELLED).
 */
import path from 'node:path';
import { IbackupError, isIbackupError } from '../errors.js';
import { readUnreadableRecord } from './unreadable-record.js';
import { looksLikeBackup, readBackupFolder } from './folder.js';
import type { BackupFolder, BackupProblem, ProblemCode } from './folder.js';
import { missingManifestKeys } from './manifest.js';
import { MANIFEST_DB, startsLikeSqlite } from './manifest-db.js';
import { openBackup } from './open.js';
import type { Backup } from './open.js';
import { verifyLegacyBackup } from './verify-legacy.js';
import { Collector, countKind, emptyCounts, FileChecker } from './verify-report.js';
import type { VerifyCounts, VerifyOptions, VerifyResult } from './verify-report.js';
import { checkRowShape, storedFileOfRow } from './verify-row.js';

export { Collector, cancelled, emptyCounts } from './verify-report.js';
export type { VerifyCounts, VerifyOptions, VerifyProgress, VerifyResult } from './verify-report.js';

const INFO_REQUIRED = ['Device Name', 'Product Version', 'Target Identifier'];

/** True when Manifest.db exists and is not a plain SQLite file (iOS 10.2+ encrypt it under ManifestKey). */
function manifestDbEncrypted(dir: string): boolean {
  try {
    return !startsLikeSqlite(path.join(dir, MANIFEST_DB));
  } catch {
    return false;
  }
}

/** Plist keys a restore needs; ManifestKey only where Manifest.db is encrypted (not iOS ≤ 10.1). */
function checkPlistKeys(folder: BackupFolder, out: Collector): void {
  const lacks = (code: ProblemCode, file: string, missing: string[], severity: BackupProblem['severity']): void => {
    if (missing.length > 0) out.add({ code, message: `${file} lacks ${missing.join(', ')}.`, path: file, severity });
  };
  if (folder.manifest !== undefined) {
    const needsManifestKey = folder.hasManifestDb && manifestDbEncrypted(folder.dir);
    const missing = missingManifestKeys(folder.manifest).filter((k) => k !== 'ManifestKey' || needsManifestKey);
    lacks('MANIFEST_KEYS_MISSING', 'Manifest.plist', missing, 'error');
  }
  if (folder.info !== undefined) {
    const info = folder.info;
    lacks(
      'INFO_KEYS_MISSING',
      'Info.plist',
      INFO_REQUIRED.filter((k) => info.raw[k] === undefined),
      'warning',
    );
  }
}

interface IndexOutcome {
  encrypted: boolean;
  passwordChecked: boolean;
}

/** Verifies Manifest.db and the files it lists (iOS 10 and later). */
async function verifyManifestDbBackup(
  folder: BackupFolder,
  options: VerifyOptions,
  out: Collector,
  counts: VerifyCounts,
): Promise<IndexOutcome> {
  const encrypted = folder.manifest?.isEncrypted ?? false;
  let backup: Backup;
  try {
    backup = await openBackup(folder.dir, {
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.derivedKey === undefined ? {} : { derivedKey: options.derivedKey }),
      ...(options.tempParent === undefined ? {} : { tempParent: options.tempParent }),
    });
  } catch (err) {
    if (isIbackupError(err) && err.code === 'BACKUP_CORRUPT') {
      out.add({ code: 'MANIFEST_DB_CORRUPT', message: err.message, path: MANIFEST_DB, severity: 'error' });
      return { encrypted, passwordChecked: false };
    }
    throw err;
  }
  try {
    const unreadable = new Map(
      (await readUnreadableRecord(folder.dir)).map((f) => [`${f.fileId.slice(0, 2)}/${f.fileId}`, f.reason]),
    );
    const checker = new FileChecker(out, counts, {
      check: {
        keys: backup.keys,
        encrypted: backup.isEncrypted,
        decrypt: options.decrypt ?? true,
        checkDigests: options.checkDigests ?? true,
      },
      unreadable,
      filesTotal: backup.db.counts().files,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    // One pass over the rows in the table's order (no sort of the whole index); blob checks run
    // in batches while the SQLite cursor waits.
    for (const row of backup.db.iterate({ unordered: true })) {
      countKind(counts, row.kind);
      for (const p of checkRowShape(row, backup.isEncrypted)) out.add(p);
      const file = storedFileOfRow(row);
      if (file !== undefined) await checker.add(file);
    }
    await checker.flush();
    return { encrypted, passwordChecked: backup.isEncrypted };
  } finally {
    backup.close();
  }
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
  checkPlistKeys(folder, out);
  const legacy = !folder.hasManifestDb && folder.hasManifestMbdb;
  let outcome: IndexOutcome;
  if (legacy) outcome = await verifyLegacyBackup(folder, options, out, counts);
  else if (folder.hasManifestDb) outcome = await verifyManifestDbBackup(folder, options, out, counts);
  else {
    out.add({ code: 'MANIFEST_DB_MISSING', message: 'Manifest.db is missing.', path: MANIFEST_DB, severity: 'error' });
    outcome = { encrypted: folder.manifest?.isEncrypted ?? false, passwordChecked: false };
  }
  counts.errors = out.errors;
  counts.warnings = out.warnings;
  counts.problemsOmitted = out.omitted;
  return { ok: out.errors === 0, format: legacy ? 'mbdb' : 'manifest-db', ...outcome, counts, problems: out.problems };
}
