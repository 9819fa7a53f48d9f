/**
 * `verify`: checks a backup on disk — its plists, that the last backup finished, every entry of
 * its index (Manifest.db, or Manifest.mbdb for iOS 9 and earlier), every file present with the
 * right size (and digest), and for an encrypted backup that the password opens it and every file
 * decrypts. Returns counts and problems, each problem code with a plain explanation of what it
 * means for a restore.
 */
import { readBackupFolder } from '../backup/folder.js';
import type { BackupProblem, ProblemCode } from '../backup/folder.js';
import { verifyBackup } from '../backup/verify.js';
import type { VerifyCounts, VerifyProgress } from '../backup/verify.js';
import { isIbackupError } from '../errors.js';
import { unlockBackupKeybag } from './password.js';
import type { UnlockOptions } from './password.js';

export const PROBLEM_MEANINGS: Record<ProblemCode, string> = {
  INFO_PLIST_MISSING:
    'Info.plist (device name, iOS version) is missing; the data may still be there, but Finder and iTunes will not show this backup.',
  INFO_PLIST_CORRUPT: 'Info.plist is damaged; Finder and iTunes may not show this backup.',
  INFO_KEYS_MISSING: 'Info.plist lacks some device details; restoring may still work.',
  MANIFEST_PLIST_MISSING: 'Manifest.plist (encryption keys, app list) is missing: the backup cannot be restored.',
  MANIFEST_PLIST_CORRUPT: 'Manifest.plist is damaged: the backup cannot be restored.',
  MANIFEST_KEYS_MISSING: 'Manifest.plist lacks keys a restore needs.',
  STATUS_PLIST_MISSING: 'Status.plist is missing: nothing says the backup finished.',
  STATUS_PLIST_CORRUPT: 'Status.plist is damaged: nothing says the backup finished.',
  SNAPSHOT_NOT_FINISHED: 'The last backup was interrupted before it finished: make a new backup.',
  SNAPSHOT_FOLDER: 'A backup was interrupted (or is still running) and left its staging folder: make a new backup.',
  MANIFEST_DB_MISSING: 'Manifest.db, the index of every file, is missing: nothing can be restored.',
  MANIFEST_DB_CORRUPT: 'Manifest.db, the index of every file, cannot be read: nothing can be restored.',
  UNREADABLE_ON_DEVICE:
    "The iPhone could not read this file when it was backed up (iOS 17 and later do this for some system databases); the backup holds what it sent, as Finder's would. Restoring works; that file comes back as it was sent.",
  MANIFEST_MBDB_CORRUPT:
    'Manifest.mbdb, the index of every file of an iOS 9 or earlier backup, is damaged: the files listed after the damage cannot be found, and the backup cannot be restored.',
  LEGACY_FORMAT: 'This is an iOS 9 or earlier backup (Manifest.mbdb index, files stored flat).',
  PASSWORD_NOT_GIVEN: 'The files were not decrypted because no password was given.',
  BAD_COLUMN: 'A row of Manifest.db has values of the wrong type: the index is damaged.',
  BAD_FILE_ID: 'A row of Manifest.db names its file wrongly: that file cannot be found.',
  BAD_FLAGS: 'An entry of the index (Manifest.db or Manifest.mbdb) is neither a file, a folder nor a link.',
  BAD_MBFILE: 'The record of a file (size, dates, key) cannot be read.',
  UNSAFE_PATH: 'A path in the backup tries to leave its folder; it is never used as is.',
  BLOB_MISSING: 'A file listed in the backup is not there: it cannot be restored.',
  BLOB_SIZE: 'A file does not have the size recorded: it is truncated or damaged.',
  DIGEST_MISMATCH: "A file's content does not match its recorded checksum: it is damaged.",
  KEY_MISSING: 'A file of the encrypted backup has no key: it cannot be decrypted.',
  DECRYPT_FAILED: 'A file does not decrypt with its key: it is damaged.',
  SIZE_CHANGED: 'A file changed while it was backed up; the copy is still usable.',
  KEPT_COPY_UNFINISHED:
    'The copy kept of the last complete backup could not be completed (often a full disk): free some space, then run "ibackup list" again.',
};

/** What a problem code means, in plain words. */
export function problemMeaning(code: ProblemCode): string {
  return PROBLEM_MEANINGS[code];
}

export interface VerifyAppOptions extends UnlockOptions {
  /** Decrypt every file of an encrypted backup (default true). */
  decrypt?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: VerifyProgress) => void;
  tempParent?: string;
}

export interface VerifyProblem {
  code: ProblemCode;
  message: string;
  path?: string;
  severity: 'error' | 'warning';
  meaning: string;
}

export interface VerifyReport {
  /** True when the backup looks restorable. */
  ok: boolean;
  path: string;
  /** The index: Manifest.db (iOS 10 and later) or Manifest.mbdb (iOS 9 and earlier). */
  format: 'manifest-db' | 'mbdb';
  device: { udid: string | null; name: string | null; iosVersion: string | null };
  date: string | null;
  encrypted: boolean;
  /** True when the password (or a cached key) opened the keybag and files were decrypted. */
  passwordChecked: boolean;
  keySource: 'none' | 'password' | 'cache';
  /** Where `--save-key` stored the derived key. */
  savedKeyTo?: string;
  counts: VerifyCounts;
  problems: VerifyProblem[];
}

function withMeaning(p: BackupProblem): VerifyProblem {
  return {
    code: p.code,
    message: p.message,
    ...(p.path === undefined ? {} : { path: p.path }),
    severity: p.severity,
    meaning: problemMeaning(p.code),
  };
}

/**
 * Verifies the backup in `dir`. Throws only when it cannot start: BACKUP_NOT_FOUND,
 * PASSWORD_REQUIRED, WRONG_PASSWORD (with the way out), CANCELLED.
 */
export async function verifyBackupAt(dir: string, options: VerifyAppOptions = {}): Promise<VerifyReport> {
  const folder = await readBackupFolder(dir);
  let derivedKey: Uint8Array | undefined;
  let keySource: VerifyReport['keySource'] = 'none';
  let savedKeyTo: string | undefined;
  const keybag = folder.manifest?.backupKeyBag;
  if (
    folder.manifest?.isEncrypted === true &&
    keybag !== undefined &&
    (folder.hasManifestDb || folder.hasManifestMbdb)
  ) {
    try {
      const r = await unlockBackupKeybag(keybag, options);
      derivedKey = r.keys.kek;
      keySource = r.source;
      savedKeyTo = r.savedTo;
    } catch (err) {
      // A damaged keybag is a problem verifyBackup reports; anything else stops here.
      if (!isIbackupError(err) || err.code !== 'BACKUP_CORRUPT') throw err;
    }
  }
  const r = await verifyBackup(dir, {
    ...(derivedKey === undefined ? {} : { derivedKey }),
    ...(options.decrypt === undefined ? {} : { decrypt: options.decrypt }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.tempParent === undefined ? {} : { tempParent: options.tempParent }),
  });
  const info = folder.info;
  const lockdown = folder.manifest?.lockdown;
  const date = folder.status?.date ?? folder.manifest?.date ?? info?.lastBackupDate;
  return {
    ok: r.ok,
    path: dir,
    format: r.format,
    device: {
      udid: info?.targetIdentifier ?? info?.uniqueIdentifier ?? lockdown?.uniqueDeviceId ?? null,
      name: info?.deviceName ?? lockdown?.deviceName ?? null,
      iosVersion: info?.productVersion ?? lockdown?.productVersion ?? null,
    },
    date: date === undefined ? null : date.toISOString(),
    encrypted: r.encrypted,
    passwordChecked: r.passwordChecked,
    keySource,
    ...(savedKeyTo === undefined ? {} : { savedKeyTo }),
    counts: r.counts,
    problems: r.problems.map(withMeaning),
  };
}
