/**
 * The top level of one backup folder, read tolerantly: Info.plist, Manifest.plist and
 * Status.plist (each may be missing or damaged, which is reported, not thrown), whether a
 * `Snapshot/` staging folder is left over and which index files exist. Shared by open, verify
 * and list.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { isIbackupError } from '../errors.js';
import { INFO_PLIST, readInfoPlist } from './info-plist.js';
import type { BackupInfo } from './info-plist.js';
import { MANIFEST_PLIST, readManifestPlist } from './manifest.js';
import type { ManifestPlist } from './manifest.js';
import { MANIFEST_DB } from './manifest-db.js';
import { isSnapshotFinished, readStatusPlist, STATUS_PLIST } from './status.js';
import type { BackupStatus } from './status.js';

export const SNAPSHOT_DIR = 'Snapshot';
export const MANIFEST_MBDB = 'Manifest.mbdb';

/** Stable codes of the problems a reader or `verify` reports. */
export type ProblemCode =
  | 'INFO_PLIST_MISSING'
  | 'INFO_PLIST_CORRUPT'
  | 'INFO_KEYS_MISSING'
  | 'MANIFEST_PLIST_MISSING'
  | 'MANIFEST_PLIST_CORRUPT'
  | 'MANIFEST_KEYS_MISSING'
  | 'STATUS_PLIST_MISSING'
  | 'STATUS_PLIST_CORRUPT'
  | 'SNAPSHOT_NOT_FINISHED'
  | 'SNAPSHOT_FOLDER'
  | 'MANIFEST_DB_MISSING'
  | 'MANIFEST_DB_CORRUPT'
  | 'MANIFEST_MBDB_CORRUPT'
  | 'UNREADABLE_ON_DEVICE'
  | 'LEGACY_FORMAT'
  | 'PASSWORD_NOT_GIVEN'
  | 'BAD_COLUMN'
  | 'BAD_FILE_ID'
  | 'BAD_FLAGS'
  | 'BAD_MBFILE'
  | 'UNSAFE_PATH'
  | 'BLOB_MISSING'
  | 'BLOB_SIZE'
  | 'DIGEST_MISMATCH'
  | 'KEY_MISSING'
  | 'DECRYPT_FAILED'
  | 'SIZE_CHANGED'
  | 'KEPT_COPY_UNFINISHED';

export interface BackupProblem {
  code: ProblemCode;
  message: string;
  /** The file concerned: a backup-relative path or `<domain>/<relativePath>`. */
  path?: string;
  /** 'error': the backup cannot be trusted to restore; 'warning': worth knowing. */
  severity: 'error' | 'warning';
}

export interface BackupFolder {
  dir: string;
  info?: BackupInfo;
  manifest?: ManifestPlist;
  status?: BackupStatus;
  hasManifestDb: boolean;
  hasManifestMbdb: boolean;
  /** A leftover `Snapshot/` folder: the last backup run did not finish. */
  hasSnapshotFolder: boolean;
  problems: BackupProblem[];
}

function isMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

async function tolerant<T>(
  read: () => Promise<T>,
  file: string,
  missing: ProblemCode,
  damaged: ProblemCode,
  problems: BackupProblem[],
): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isMissing(err)) problems.push({ code: missing, message: `${file} is missing.`, path: file, severity: 'error' });
    else {
      const why = isIbackupError(err) || err instanceof Error ? err.message : String(err);
      problems.push({ code: damaged, message: why, path: file, severity: 'error' });
    }
    return undefined;
  }
}

/** True when `p` is a folder (links followed); false when nothing, or something else, is there. */
export function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Reads the top level of a backup folder; never throws for damaged content. */
export async function readBackupFolder(dir: string): Promise<BackupFolder> {
  const problems: BackupProblem[] = [];
  const info = await tolerant(
    () => readInfoPlist(dir),
    INFO_PLIST,
    'INFO_PLIST_MISSING',
    'INFO_PLIST_CORRUPT',
    problems,
  );
  const manifest = await tolerant(
    () => readManifestPlist(dir),
    MANIFEST_PLIST,
    'MANIFEST_PLIST_MISSING',
    'MANIFEST_PLIST_CORRUPT',
    problems,
  );
  const status = await tolerant(
    () => readStatusPlist(dir),
    STATUS_PLIST,
    'STATUS_PLIST_MISSING',
    'STATUS_PLIST_CORRUPT',
    problems,
  );
  if (status !== undefined && !isSnapshotFinished(status)) {
    problems.push({
      code: 'SNAPSHOT_NOT_FINISHED',
      message: `The last backup did not finish (Status.plist SnapshotState is ${JSON.stringify(status.snapshotState ?? null)}, not "finished").`,
      path: STATUS_PLIST,
      severity: 'error',
    });
  }
  const hasSnapshotFolder = isDirectory(path.join(dir, SNAPSHOT_DIR));
  if (hasSnapshotFolder) {
    problems.push({
      code: 'SNAPSHOT_FOLDER',
      message: 'A Snapshot folder is left over: a backup was interrupted or is still running.',
      path: SNAPSHOT_DIR,
      severity: 'error',
    });
  }
  const hasManifestDb = existsSync(path.join(dir, MANIFEST_DB));
  const hasManifestMbdb = existsSync(path.join(dir, MANIFEST_MBDB));
  return {
    dir,
    ...(info === undefined ? {} : { info }),
    ...(manifest === undefined ? {} : { manifest }),
    ...(status === undefined ? {} : { status }),
    hasManifestDb,
    hasManifestMbdb,
    hasSnapshotFolder,
    problems,
  };
}

/** True when the folder looks like a backup at all (any of the top-level files exists). */
export function looksLikeBackup(dir: string): boolean {
  return [INFO_PLIST, MANIFEST_PLIST, STATUS_PLIST, MANIFEST_DB, MANIFEST_MBDB].some((f) =>
    existsSync(path.join(dir, f)),
  );
}
