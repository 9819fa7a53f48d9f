/**
 * Deleting and archiving backups, as Finder's "Delete Backup" and "Archive" do. Both work only on
 * a backup folder directly in a backup root (`<root>/<UDID>`, `<root>/<UDID>-YYYYMMDD-HHMMSS`)
 * or on the copy kept under `<root>/.ibackup/previous/<UDID>`; anything else is refused before a
 * file is touched, and symbolic links are never followed.
 *
 * Delete first renames the folder to a hidden `.deleting-…` name in the same root (one atomic
 * step: from then on `list` no longer shows it), then removes it. Archive hard-links every file
 * (a backup's files are replaced, never changed in place, so the copy costs no space and later
 * backups do not change it) into a hidden `.archiving-…` folder, copying where links are
 * impossible, flushes it and renames it to `<UDID>-YYYYMMDD-HHMMSS`. Leftovers of an interrupted
 * run are hidden, never listed, and removed by the next delete or archive in that root.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, readdir, realpath, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { isNoSpace } from '../backup/disk-full.js';
import { looksLikeBackup, SNAPSHOT_DIR } from '../backup/folder.js';
import { nodeFs } from '../backup/fs-layer.js';
import { parallel } from '../parallel.js';
import { forgetSavedSize } from '../backup/size-ledger.js';
import { pruneUnreadableRecords } from '../backup/unreadable-record.js';
import { folderSize, parseArchiveName, summarizeBackup, type BackupKind } from '../backup/list.js';
import { PREVIOUS_DIR, settleKeptCopy } from '../backup/preserve.js';
import { IbackupError, isIbackupError } from '../errors.js';

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
}

interface Located {
  /** As the caller named it, absolute. */
  shown: string;
  /** The same folder with its parent's real path (what file operations use). */
  real: string;
  name: string;
  /** The root as configured (absolute) and its real path. */
  root: string;
  rootReal: string;
  kind: BackupKind;
}

const TEMP_NAME = /^\.(deleting|archiving)-(\d+)-[0-9a-f]+-/;
/** Codes of file systems that cannot make a hard link here. */
const NO_LINKS = new Set(['EPERM', 'EXDEV', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);
/** How many later seconds to try when an archive of that second already exists. */
const NAME_TRIES = 60;
/** Temp folders this process is filling now (never swept). */
const active = new Set<string>();

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? '';
}

async function realOrUndefined(p: string): Promise<string | undefined> {
  return realpath(p).catch(() => undefined);
}

function rootsText(roots: readonly string[]): string {
  return roots.map((r) => path.resolve(r)).join(' or ');
}

function notInRoot(shown: string, roots: readonly string[], why: string): IbackupError {
  return new IbackupError('USAGE', {
    message: `${shown} ${why}; ibackup deletes and archives only backups directly in the backup folder (${rootsText(roots)}).`,
    remedy: 'Give a backup shown by "ibackup list", or choose the backup folder that holds it with --backup-dir.',
    details: { path: shown, roots: [...roots] },
  });
}

/** Where `shown` lies: directly in a root, or a kept previous copy; undefined when neither. */
async function place(shown: string, roots: readonly string[]): Promise<Omit<Located, 'shown'> | undefined> {
  const name = path.basename(shown);
  if (name === '' || name === '.' || name === '..' || name.startsWith('.')) return undefined;
  const parentReal = await realOrUndefined(path.dirname(shown));
  if (parentReal === undefined) return undefined;
  for (const r of roots) {
    if (r.trim() === '') continue;
    const root = path.resolve(r);
    const rootReal = await realOrUndefined(root);
    if (rootReal === undefined) continue;
    if (parentReal === rootReal) {
      return {
        real: path.join(rootReal, name),
        name,
        root,
        rootReal,
        kind: parseArchiveName(name) === undefined ? 'current' : 'archive',
      };
    }
    if (parentReal === path.join(rootReal, PREVIOUS_DIR) && !name.endsWith('.partial')) {
      return { real: path.join(parentReal, name), name, root, rootReal, kind: 'previous' };
    }
  }
  return undefined;
}

/** Checks that `target` is a backup folder delete and archive may touch (see the module comment). */
async function locate(target: string, roots: readonly string[]): Promise<Located> {
  if (typeof target !== 'string' || target.trim() === '' || target.includes('\0')) {
    throw new IbackupError('USAGE', {
      message: 'No backup folder was given.',
      remedy: 'Give a backup shown by "ibackup list".',
    });
  }
  const shown = path.resolve(target);
  const where = await place(shown, roots);
  if (where === undefined) {
    const real = await realOrUndefined(shown);
    for (const r of roots) {
      if (real !== undefined && r.trim() !== '' && real === (await realOrUndefined(path.resolve(r)))) {
        throw notInRoot(shown, roots, 'is the backup folder itself, not one backup in it');
      }
    }
    throw notInRoot(shown, roots, 'is not in the backup folder');
  }
  let st;
  try {
    st = await lstat(where.real);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw fileError(`read ${shown}`, err);
    throw new IbackupError('BACKUP_NOT_FOUND', {
      message: `There is no backup at ${shown}.`,
      details: { path: shown },
    });
  }
  if (st.isSymbolicLink()) {
    throw new IbackupError('USAGE', {
      message: `${shown} is a symbolic link, not a backup folder; ibackup does not follow links in the backup folder.`,
      remedy:
        'Remove the link itself with your file manager, or give the backup folder it points to (with --backup-dir for the folder holding it).',
      details: { path: shown },
    });
  }
  if (!st.isDirectory() || !looksLikeBackup(where.real)) {
    throw new IbackupError('BACKUP_NOT_FOUND', {
      message: `${shown} is not a backup (no Info.plist, Manifest.plist, Status.plist or Manifest.db in it).`,
      remedy: 'Give a backup shown by "ibackup list"; ibackup deletes and archives nothing else.',
      details: { path: shown },
    });
  }
  if (where.kind === 'previous') {
    // A kept copy is whole only once its run has ended: a running backup still fills it.
    const running = await settleKeptCopy(where.real).catch((err: unknown) =>
      Promise.reject(fileError(`complete ${shown}`, err)),
    );
    if (running) {
      throw new IbackupError('BUSY', {
        message: `A backup of this iPhone is running and still keeps ${shown}; it can be deleted or archived when that backup ends.`,
        remedy: 'Wait for the backup to finish, or cancel it, then try again.',
        details: { path: shown },
      });
    }
  }
  return { shown, ...where };
}

/** A file-system failure in plain words (the disk full, no permission, a folder in use). */
function fileError(what: string, err: unknown): IbackupError {
  if (isIbackupError(err)) return err;
  if (isNoSpace(err)) {
    return new IbackupError('DISK_FULL', {
      message: `The disk ran out of space (could not ${what}).`,
      remedy: 'Free some space, then try again.',
      cause: err,
    });
  }
  const code = errnoOf(err);
  return new IbackupError('FILE_ACCESS', {
    message: `Could not ${what}${code === '' ? '' : ` (${code})`}.`,
    cause: err,
    details: { errno: code },
  });
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}

/**
 * Removes what interrupted deletes and archives left in the root: every `.deleting-…` folder, and
 * `.archiving-…` folders whose process is gone. Best effort: a failure is left for the next time.
 */
async function sweep(rootReal: string): Promise<void> {
  const names = await readdir(rootReal).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const m = TEMP_NAME.exec(name);
      const dir = path.join(rootReal, name);
      if (m === null || active.has(dir)) return;
      if (m[1] === 'archiving' && pidAlive(Number(m[2]))) return;
      await rm(dir, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
    }),
  );
}

function tempName(kind: 'deleting' | 'archiving', name: string): string {
  return `.${kind}-${process.pid}-${randomBytes(4).toString('hex')}-${name}`;
}

/** Facts about a backup that delete or archive would work on (checked as they check it). */
export async function describeManagedBackup(target: string, roots: readonly string[]): Promise<ManagedBackup> {
  const loc = await locate(target, roots);
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
  };
}

/**
 * Deletes a backup folder (the device's current backup, an archive or a kept previous copy).
 * Returns the path deleted, as given (absolute).
 */
export async function deleteBackup(target: string, roots: readonly string[]): Promise<{ deleted: string }> {
  const loc = await locate(target, roots);
  await sweep(loc.rootReal);
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
  // The rename must reach the disk before the files go: a crash then leaves a hidden leftover.
  await nodeFs.sync(loc.rootReal, true).catch(() => undefined);
  if (loc.kind === 'previous') await nodeFs.sync(path.join(loc.rootReal, PREVIOUS_DIR), true).catch(() => undefined);
  if (loc.kind === 'current') await forgetSavedSize(loc.rootReal, loc.name).catch(() => undefined);
  // The records of files the iPhone could not read go with the last backup that names them.
  await pruneUnreadableRecords(loc.rootReal, loc.name.replace(/-\d{8}-\d{6}$/, '')).catch(() => undefined);
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
  return { deleted: loc.shown };
}

/** `<UDID>-YYYYMMDD-HHMMSS` in local time, as Finder names an archived backup. */
export function archiveFolderName(udid: string, when: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const day = `${String(when.getFullYear()).padStart(4, '0')}${two(when.getMonth() + 1)}${two(when.getDate())}`;
  return `${udid}-${day}-${two(when.getHours())}${two(when.getMinutes())}${two(when.getSeconds())}`;
}

/** The UDID the archive is named after: the backup's own, when it is a plain folder name. */
function archiveUdid(udid: string, loc: Located): string {
  if (/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(udid)) return udid;
  return parseArchiveName(loc.name)?.udid ?? loc.name;
}

interface CloneState {
  dirs: string[];
  copied: string[];
  linksWork: boolean;
}

/** Recreates `from` under `to`: folders made, files hard-linked (else copied), links skipped. */
async function cloneTree(from: string, to: string, state: CloneState, top: boolean): Promise<void> {
  await mkdir(to, { mode: 0o755 });
  state.dirs.push(to);
  const entries = await readdir(from, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    if (top && e.name === SNAPSHOT_DIR) continue;
    if (e.name.includes('.tmp-')) continue; // an unfinished file of a running backup
    if (e.isDirectory()) await cloneTree(path.join(from, e.name), path.join(to, e.name), state, false);
    else if (e.isFile()) files.push(e.name);
  }
  await parallel(files, 16, async (name) => {
    const src = path.join(from, name);
    const dst = path.join(to, name);
    if (state.linksWork) {
      try {
        await link(src, dst);
        return;
      } catch (err) {
        if (!NO_LINKS.has(errnoOf(err))) throw err;
        state.linksWork = false;
      }
    }
    await copyFile(src, dst, constants.COPYFILE_EXCL);
    const st = await lstat(src);
    await utimes(dst, st.atime, st.mtime).catch(() => undefined);
    state.copied.push(dst);
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
  const loc = await locate(target, roots);
  const summary = await summarizeBackup(loc.real, { sizes: false });
  if (!summary.complete) {
    const unfinished = summary.problems.some(
      (p) => p.code === 'SNAPSHOT_NOT_FINISHED' || p.code === 'SNAPSHOT_FOLDER' || p.code === 'STATUS_PLIST_MISSING',
    );
    const why = summary.problems
      .filter((p) => p.severity === 'error')
      .map((p) => p.message)
      .slice(0, 3)
      .join(' ');
    throw new IbackupError(unfinished ? 'BACKUP_INCOMPLETE' : 'BACKUP_CORRUPT', {
      message: `${loc.shown} is not a complete backup, so it cannot be archived.${why === '' ? '' : ` ${why}`}`,
      remedy: unfinished
        ? 'Finish it with "ibackup backup" first, then archive it (or archive another backup shown by "ibackup list").'
        : 'Run "ibackup verify" on it for details; archive a complete backup instead.',
      details: { path: loc.shown },
    });
  }
  await sweep(loc.rootReal);
  const udid = archiveUdid(summary.udid, loc);
  const tmp = path.join(loc.rootReal, tempName('archiving', udid));
  active.add(tmp);
  try {
    const state: CloneState = { dirs: [], copied: [], linksWork: true };
    try {
      await cloneTree(loc.real, tmp, state, true);
      await parallel(state.copied, 16, (f) => nodeFs.sync(f, false));
      await parallel(state.dirs, 32, (d) => nodeFs.sync(d, true));
    } catch (err) {
      throw fileError(`make the archive of ${loc.shown}`, err);
    }
    for (let i = 0; i < NAME_TRIES; i++) {
      const name = archiveFolderName(udid, new Date(now.getTime() + i * 1000));
      const dest = path.join(loc.rootReal, name);
      if ((await lstat(dest).catch(() => undefined)) !== undefined) continue;
      try {
        await rename(tmp, dest);
      } catch (err) {
        if (errnoOf(err) === 'ENOTEMPTY' || errnoOf(err) === 'EEXIST') continue;
        throw fileError(`rename the archive to ${name}`, err);
      }
      await nodeFs.sync(loc.rootReal, true).catch(() => undefined);
      return { archive: path.join(loc.root, name), sizeBytes: await folderSize(dest) };
    }
    throw new IbackupError('USAGE', {
      message: `Archives of ${udid} already exist for every second from ${archiveFolderName(udid, now)} on.`,
      remedy: 'Wait a minute and archive again, or delete an archive you no longer need.',
      details: { path: loc.shown },
    });
  } finally {
    active.delete(tmp);
    await rm(tmp, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
  }
}
