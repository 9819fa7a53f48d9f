/**
 * Deleting a backup folder as Finder's "Delete Backup" does: the folder is first renamed to a
 * hidden `.deleting-…` name in the same root (one atomic step: from then on `list` no longer
 * shows it), the rename is flushed, then the files go. A crash in between leaves only a hidden
 * leftover, which the next delete or archive in that root removes.
 */
import { lstat, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { IbackupError } from '../errors.js';
import { nodeFs } from './fs-layer.js';
import { errnoOf, fileError, sweepLeftovers, tempName, type Located } from './managed-folder.js';
import { promoteNewestVersion, removeVersion } from './prune.js';
import { historyDir, versionsDir } from './versions.js';
import { forgetSavedSize } from './size-ledger.js';
import { pruneUnreadableRecords } from './unreadable-record.js';

/** Moves the folder out of sight (nothing deleted when that fails); returns where it went. */
async function moveToTrash(loc: Located): Promise<string> {
  const trash = path.join(loc.rootReal, tempName('deleting', loc.name));
  try {
    await rename(loc.real, trash);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT')
      throw new IbackupError('BACKUP_NOT_FOUND', {
        message: `There is no backup at ${loc.shown} any more.`,
        details: { path: loc.shown },
      });
    throw fileError(`move ${loc.shown} out of the backup folder; nothing was deleted`, err);
  }
  return trash;
}

/** What ibackup keeps about the folder goes with it: its saved size, its unreadable-file records. */
async function forgetFolder(loc: Located): Promise<void> {
  if (loc.kind === 'current') await forgetSavedSize(loc.rootReal, loc.name).catch(() => undefined);
  // The records of files the iPhone could not read go with the last backup that names them.
  await pruneUnreadableRecords(loc.rootReal, loc.name.replace(/-\d{8}-\d{6}$/, '')).catch(() => undefined);
}

/** Removes the hidden folder; what cannot be removed is left, and the user told where. */
async function emptyTrash(trash: string, loc: Located): Promise<void> {
  try {
    await rm(trash, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    if ((await lstat(trash).catch(() => undefined)) !== undefined) {
      throw new IbackupError('FILE_ACCESS', {
        message: `The backup ${loc.shown} is no longer listed, but some of its files could not be removed from ${trash} (${errnoOf(err) || 'error'}).`,
        remedy: `Delete the folder ${trash} with your file manager (nothing in it is needed), or run the delete of any backup again later to retry.`,
        cause: err,
        details: { path: loc.shown, leftover: trash },
      });
    }
  }
}

/** The versions of the phone and ibackup's records of them go too (hidden first, like the folder). */
async function deleteHistory(loc: Located): Promise<void> {
  const versions = versionsDir(loc.rootReal, loc.name);
  if ((await lstat(versions).catch(() => undefined)) === undefined) return;
  const trash = path.join(loc.rootReal, tempName('deleting', `versions-${loc.name}`));
  await rename(versions, trash).catch((err: unknown) => Promise.reject(fileError(`move ${versions} away`, err)));
  await nodeFs.sync(path.dirname(versions), true).catch(() => undefined);
  await rm(historyDir(loc.rootReal, loc.name), { recursive: true, force: true }).catch(() => undefined);
  await emptyTrash(trash, loc);
}

export interface DeleteOptions {
  /**
   * For a phone's current backup: only that version goes, and the newest earlier version (if
   * any) becomes the current backup. Otherwise the phone's whole history goes with it.
   */
  onlyThisVersion?: boolean;
}

/** Deletes a located backup folder (a phone's backup with its history, one version, or an archive). */
export async function deleteBackupFolder(loc: Located, opts: DeleteOptions = {}): Promise<void> {
  if (loc.kind === 'version') {
    await removeVersion(loc.rootReal, loc.udid ?? '', loc.name).catch((err: unknown) =>
      Promise.reject(fileError(`delete ${loc.shown}`, err)),
    );
    await pruneUnreadableRecords(loc.rootReal, loc.udid ?? '').catch(() => undefined);
    return;
  }
  await sweepLeftovers(loc.rootReal);
  const trash = await moveToTrash(loc);
  // The rename must reach the disk before the files go: a crash then leaves a hidden leftover.
  await nodeFs.sync(loc.rootReal, true).catch(() => undefined);
  await forgetFolder(loc);
  if (loc.kind === 'current' && opts.onlyThisVersion === true) await promoteNewestVersion(loc.rootReal, loc.name);
  else if (loc.kind === 'current') await deleteHistory(loc);
  await emptyTrash(trash, loc);
}
