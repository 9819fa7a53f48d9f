/**
 * Deleting and archiving backups, as Finder's "Delete Backup" and "Archive" do. Both work only on
 * a backup folder directly in a backup root (`<root>/<UDID>`, `<root>/<UDID>-YYYYMMDD-HHMMSS`)
 * or on a version of a phone's history (`<root>/.ibackup/versions/<UDID>/<id>`); anything else is
 * refused before a file is touched (backup/managed-folder.ts). Delete hides the folder in one
 * atomic rename, then removes it (backup/delete.ts) — a phone's backup with its whole history,
 * unless only that version is asked for; archive hard-links a complete backup into a new dated
 * folder (backup/archive.ts), where Finder and iTunes list it.
 */
import { archiveBackupFolder } from '../backup/archive.js';
import { deleteBackupFolder } from '../backup/delete.js';
import { historyBytes, readHistory } from '../backup/history.js';
import { summarizeBackup, parseArchiveName, type BackupKind, type BackupSummary } from '../backup/list.js';
import { locateManagedBackup, type Located } from '../backup/managed-folder.js';
import { IbackupError } from '../errors.js';

export { archiveFolderName } from '../backup/archive.js';

/** A backup folder that delete and archive may work on. */
export interface ManagedBackup {
  /** The folder as the caller named it (absolute). */
  path: string;
  /** The backup root it lies in (absolute, as configured). */
  root: string;
  kind: BackupKind;
  udid: string;
  deviceName: string | null;
  /** Status.plist Date, else Manifest.plist / Info.plist dates; ISO. */
  date: string | null;
  sizeBytes: number;
  complete: boolean;
  /** For a phone's current backup: its earlier versions, which a delete of the phone removes too. */
  history?: { earlierVersions: number; bytes: number };
}

/** The earlier versions of a phone's backup and the space of its whole history. */
async function historyOf(loc: Located): Promise<ManagedBackup['history']> {
  if (loc.kind !== 'current') return undefined;
  const h = await readHistory(loc.rootReal, loc.name).catch(() => undefined);
  if (h === undefined) return undefined;
  const earlier = h.versions.filter((v) => !v.current).length;
  const bytes = historyBytes(h);
  return { earlierVersions: earlier, bytes };
}

/** Facts about a backup that delete or archive would work on (checked as they check it). */
export async function describeManagedBackup(target: string, roots: readonly string[]): Promise<ManagedBackup> {
  const loc = await locateManagedBackup(target, roots);
  const s = await summarizeBackup(loc.real);
  return {
    path: loc.shown,
    root: loc.root,
    kind: loc.kind,
    udid: s.udid,
    deviceName: s.deviceName ?? null,
    date: (s.statusDate ?? s.date)?.toISOString() ?? null,
    sizeBytes: s.sizeBytes,
    complete: s.complete,
    ...(await historyOf(loc).then((h) => (h === undefined ? {} : { history: h }))),
  };
}

/**
 * Deletes a backup folder: a phone's backup with its whole history, one version of it
 * (`onlyThisVersion` for its current backup: the newest earlier version becomes the current one),
 * or an archive. Returns the path deleted, as given (absolute).
 */
export async function deleteBackup(
  target: string,
  roots: readonly string[],
  opts: { onlyThisVersion?: boolean } = {},
): Promise<{ deleted: string }> {
  const loc = await locateManagedBackup(target, roots);
  await deleteBackupFolder(loc, opts);
  return { deleted: loc.shown };
}

/** The UDID the archive is named after: the backup's own, when it is a plain folder name. */
function archiveUdid(udid: string, loc: Located): string {
  if (/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(udid)) return udid;
  return parseArchiveName(loc.name)?.udid ?? loc.name;
}

/** Only a complete backup is archived: why this one is not, in plain words. */
function notComplete(loc: Located, summary: BackupSummary): IbackupError {
  const unfinished = summary.problems.some(
    (p) => p.code === 'SNAPSHOT_NOT_FINISHED' || p.code === 'SNAPSHOT_FOLDER' || p.code === 'STATUS_PLIST_MISSING',
  );
  const why = summary.problems
    .filter((p) => p.severity === 'error')
    .map((p) => p.message)
    .slice(0, 3)
    .join(' ');
  return new IbackupError(unfinished ? 'BACKUP_INCOMPLETE' : 'BACKUP_CORRUPT', {
    message: `${loc.shown} is not a complete backup, so it cannot be archived.${why === '' ? '' : ` ${why}`}`,
    remedy: unfinished
      ? 'Finish it with "ibackup backup" first, then archive it (or archive another backup shown by "ibackup list").'
      : 'Run "ibackup verify" on it for details; archive a complete backup instead.',
    details: { path: loc.shown },
  });
}

/**
 * Archives a complete backup as `<UDID>-YYYYMMDD-HHMMSS` (local time of `now`) in the same root;
 * when that name exists, the next free second is used. Returns the archive's path and size.
 */
export async function archiveBackup(
  target: string,
  roots: readonly string[],
  now: Date = new Date(),
): Promise<{ archive: string; sizeBytes: number }> {
  const loc = await locateManagedBackup(target, roots);
  const summary = await summarizeBackup(loc.real, { sizes: false });
  if (!summary.complete) throw notComplete(loc, summary);
  return archiveBackupFolder(loc, archiveUdid(summary.udid, loc), now);
}
