/**
 * Which folders delete and archive may work on: a backup folder directly in a backup root
 * (`<root>/<UDID>`, `<root>/<UDID>-YYYYMMDD-HHMMSS`) or a version of a phone's backup under
 * `<root>/.ibackup/versions/<UDID>/<id>`; anything else is refused before a file is touched, and
 * symbolic links are never followed. Also the hidden `.deleting-…` / `.archiving-…` folders both
 * work in, and the sweep of those an interrupted run left.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { IbackupError, isIbackupError } from '../errors.js';
import { isNoSpace } from './disk-full.js';
import { looksLikeBackup } from './folder.js';
import { processRuns } from './fs-layer.js';
import { parseArchiveName, type BackupKind } from './list.js';
import { settleKeptCopy } from './preserve.js';
import { isVersionId, VERSIONS_DIR } from './versions.js';

/** A backup folder delete and archive may work on. */
export interface Located {
  /** As the caller named it, absolute. */
  shown: string;
  /** The same folder with its parent's real path (what file operations use). */
  real: string;
  name: string;
  /** The root as configured (absolute) and its real path. */
  root: string;
  rootReal: string;
  kind: BackupKind;
  /** For a version: the UDID whose history holds it. */
  udid?: string;
}

const TEMP_NAME = /^\.(deleting|archiving)-(\d+)-[0-9a-f]+-/;
/** Temp folders this process is filling now (never swept). */
const active = new Set<string>();

export function errnoOf(err: unknown): string {
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

/** A file-system failure in plain words (the disk full, no permission, a folder in use). */
export function fileError(what: string, err: unknown): IbackupError {
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

/** Where `shown` lies: directly in a root, or a version in a root's history; undefined when neither. */
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
    const udid = path.basename(parentReal);
    if (parentReal === path.join(rootReal, VERSIONS_DIR, udid) && isVersionId(name)) {
      return { real: path.join(parentReal, name), name, root, rootReal, kind: 'version', udid };
    }
  }
  return undefined;
}

/** Why `shown` is not in a root: it is a root itself, or lies elsewhere. */
async function notPlaced(shown: string, roots: readonly string[]): Promise<IbackupError> {
  const real = await realOrUndefined(shown);
  for (const r of roots) {
    if (real !== undefined && r.trim() !== '' && real === (await realOrUndefined(path.resolve(r)))) {
      return notInRoot(shown, roots, 'is the backup folder itself, not one backup in it');
    }
  }
  return notInRoot(shown, roots, 'is not in the backup folder');
}

/** Checks that what lies at `real` is a real backup folder (no link, not anything else). */
async function checkIsBackup(real: string, shown: string): Promise<void> {
  let st;
  try {
    st = await lstat(real);
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
  if (!st.isDirectory() || !looksLikeBackup(real)) {
    throw new IbackupError('BACKUP_NOT_FOUND', {
      message: `${shown} is not a backup (no Info.plist, Manifest.plist, Status.plist or Manifest.db in it).`,
      remedy: 'Give a backup shown by "ibackup list"; ibackup deletes and archives nothing else.',
      details: { path: shown },
    });
  }
}

/** A version is whole only once its run has ended: a running backup still fills it. */
async function settleKept(real: string, shown: string): Promise<void> {
  const running = await settleKeptCopy(real).catch((err: unknown) =>
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

/** Checks that `target` is a backup folder delete and archive may touch (see the module comment). */
export async function locateManagedBackup(target: string, roots: readonly string[]): Promise<Located> {
  if (typeof target !== 'string' || target.trim() === '' || target.includes('\0')) {
    throw new IbackupError('USAGE', {
      message: 'No backup folder was given.',
      remedy: 'Give a backup shown by "ibackup list".',
    });
  }
  const shown = path.resolve(target);
  const where = await place(shown, roots);
  if (where === undefined) throw await notPlaced(shown, roots);
  await checkIsBackup(where.real, shown);
  if (where.kind === 'version') await settleKept(where.real, shown);
  return { shown, ...where };
}

/** A hidden name in the root for a folder being deleted or archived by this process. */
export function tempName(kind: 'deleting' | 'archiving', name: string): string {
  return `.${kind}-${process.pid}-${randomBytes(4).toString('hex')}-${name}`;
}

/** Marks a temp folder as being filled by this process (never swept) until `done` is called. */
export function holdTemp(dir: string): { done(): void } {
  active.add(dir);
  return { done: () => active.delete(dir) };
}

/**
 * Removes what interrupted deletes and archives left in the root: every `.deleting-…` folder, and
 * `.archiving-…` folders whose process is gone. Best effort: a failure is left for the next time.
 */
export async function sweepLeftovers(rootReal: string): Promise<void> {
  const names = await readdir(rootReal).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const m = TEMP_NAME.exec(name);
      const dir = path.join(rootReal, name);
      if (m === null || active.has(dir)) return;
      if (m[1] === 'archiving' && processRuns(Number(m[2]))) return;
      await rm(dir, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
    }),
  );
}
