/**
 * Status.plist: the device-written state of the last backup run (backup-format.md §4).
 * `SnapshotState` "finished" means the backup completed; anything else (uploading, moving,
 * removing) means it was interrupted or is in progress.
 */
import path from 'node:path';
import { serializeBinaryPlist, type PlistDict } from '../protocol/plist/index.js';
import { Fields, parseDictPlist, readPlistFile } from './plist-fields.js';

export const STATUS_PLIST = 'Status.plist';

/** The only SnapshotState of a complete backup. */
export const SNAPSHOT_FINISHED = 'finished';

export interface BackupStatus {
  /** "uploading" → "moving" → "removing" → "finished". */
  snapshotState?: string;
  isFullBackup?: boolean;
  /** e.g. "3.3" (current devices), "2.4" (iOS 9). */
  version?: string;
  /** "new", "empty" or "old". */
  backupState?: string;
  /** Upper-case dashed UUID, new per backup. */
  uuid?: string;
  /** Start time of the backup: the best "when was this backed up". */
  date?: Date;
  raw: PlistDict;
}

/** Parses Status.plist bytes. Throws BACKUP_CORRUPT on a damaged file. */
export function parseStatusPlist(bytes: Uint8Array): BackupStatus {
  const raw = parseDictPlist(bytes, STATUS_PLIST);
  const f = new Fields(raw, STATUS_PLIST);
  const s: BackupStatus = { raw };
  const snapshotState = f.string('SnapshotState');
  if (snapshotState !== undefined) s.snapshotState = snapshotState;
  const full = f.bool('IsFullBackup');
  if (full !== undefined) s.isFullBackup = full;
  const version = f.string('Version');
  if (version !== undefined) s.version = version;
  const backupState = f.string('BackupState');
  if (backupState !== undefined) s.backupState = backupState;
  const uuid = f.string('UUID');
  if (uuid !== undefined) s.uuid = uuid;
  const date = f.date('Date');
  if (date !== undefined) s.date = date;
  return s;
}

/** True when the backup run that wrote this status completed. */
export function isSnapshotFinished(s: BackupStatus | undefined): boolean {
  return s?.snapshotState === SNAPSHOT_FINISHED;
}

/** Reads `<dir>/Status.plist`. A missing file throws ENOENT; a damaged one BACKUP_CORRUPT. */
export async function readStatusPlist(dir: string): Promise<BackupStatus> {
  return parseStatusPlist(await readPlistFile(path.join(dir, STATUS_PLIST), STATUS_PLIST));
}

/**
 * Status.plist bytes for a run the host refuses to call complete although the device finished
 * it: SnapshotState goes back to "uploading", so no reader takes the folder for a complete
 * backup and the device's next run starts afresh (it trusts only a "finished" state).
 */
export function unfinishedStatusBytes(s: BackupStatus): Uint8Array {
  return serializeBinaryPlist({ ...s.raw, SnapshotState: 'uploading' });
}
