/**
 * Where a phone's backup history lives and how its versions are named.
 *
 * - `<root>/<UDID>/`: the current backup, where Finder and iTunes look; when complete, it is the
 *   newest version (`latest`).
 * - `<root>/.ibackup/versions/<UDID>/<id>/`: each earlier version, a complete backup folder in
 *   Apple's format whose unchanged files are hard links shared with the current backup and the
 *   other versions. A version a run is still filling holds a marker (see preserve.ts); a name
 *   ending `.partial` is one being set up, and `.deleting-…` one being removed: neither is a version.
 * - `<root>/.ibackup/history/<UDID>/`: ibackup's own records: the current backup's id
 *   (`current.json`), the retention policy and pins (`policy.json`), and each version's file scan
 *   (`scans/<id>.bin`, for the space figures).
 *
 * Version ids are the UTC time a backup completed, `YYYYMMDD-HHMMSS`; a second one in the same
 * second gets `-2`, then `-3`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { looksLikeBackup } from './folder.js';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { STATUS_PLIST } from './status.js';
import { writeSmallFile } from './small-file.js';

export const VERSIONS_DIR = join('.ibackup', 'versions');
export const HISTORY_DIR = join('.ibackup', 'history');
/** Prefix of a version being removed (renamed first, so that it is never half a version). */
export const DELETING_PREFIX = '.deleting-';
const ID = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:-([2-9]|[1-9]\d+))?$/;

export function versionsDir(root: string, udid: string): string {
  return join(root, VERSIONS_DIR, udid);
}

export function versionDir(root: string, udid: string, id: string): string {
  return join(versionsDir(root, udid), id);
}

export function historyDir(root: string, udid: string): string {
  return join(root, HISTORY_DIR, udid);
}

/** The id a backup completed at `date` gets, before any same-second suffix. */
export function versionIdAt(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** Whether `name` is a version id. */
export function isVersionId(name: string): boolean {
  return parseVersionId(name) !== undefined;
}

/** The UTC time of a version id, or undefined when `id` is not one. */
export function parseVersionId(id: string): Date | undefined {
  const m = ID.exec(id);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return versionIdAt(date) === id.slice(0, 15) ? date : undefined;
}

/** `base`, else `base-2`, `base-3`… — the first not in `taken`. */
export function freeVersionId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** Newest first: ids sort by time, and a `-N` suffix after its base. */
export function compareIdsNewestFirst(a: string, b: string): number {
  const [ta, na] = splitSuffix(a);
  const [tb, nb] = splitSuffix(b);
  if (ta !== tb) return ta < tb ? 1 : -1;
  return nb - na;
}

function splitSuffix(id: string): [string, number] {
  return [id.slice(0, 15), id.length > 15 ? Number(id.slice(16)) : 1];
}

/** The names of the version folders of a device (complete or being filled), newest first. */
export async function versionFolderIds(root: string, udid: string): Promise<string[]> {
  const names = await readdir(versionsDir(root, udid)).catch(() => [] as string[]);
  return names
    .filter((n) => isVersionId(n) && looksLikeBackup(join(versionsDir(root, udid), n)))
    .sort(compareIdsNewestFirst);
}

/** What ibackup recorded of the current backup when it completed. */
export interface CurrentRecord {
  id: string;
  /** When the run completed (ISO). */
  completed: string;
  full: boolean;
  /** Status.plist's inode then: a different one means the record is not of this backup. */
  statusIno: number;
}

function currentRecordPath(root: string, udid: string): string {
  return join(historyDir(root, udid), 'current.json');
}

export async function readCurrentRecord(root: string, udid: string): Promise<CurrentRecord | undefined> {
  try {
    const rec = JSON.parse(await readFile(currentRecordPath(root, udid), 'utf8')) as Partial<CurrentRecord>;
    if (typeof rec.id !== 'string' || !isVersionId(rec.id) || typeof rec.statusIno !== 'number') return undefined;
    return { id: rec.id, completed: String(rec.completed), full: rec.full === true, statusIno: rec.statusIno };
  } catch {
    return undefined;
  }
}

export async function writeCurrentRecord(
  root: string,
  udid: string,
  rec: CurrentRecord,
  fs: FsLayer = nodeFs,
): Promise<void> {
  await writeSmallFile(fs, currentRecordPath(root, udid), `${JSON.stringify(rec)}\n`);
}

/**
 * The id of the current backup `<root>/<UDID>/` (complete or not): the one recorded when it
 * completed, else (made before history existed, or by a run that stopped before its record) its
 * Status.plist's time, kept clear of the ids in `taken`.
 */
export async function currentVersionId(
  root: string,
  udid: string,
  taken: ReadonlySet<string>,
  fs: FsLayer = nodeFs,
): Promise<string> {
  const status = await fs.lstat(join(root, udid, STATUS_PLIST)).catch(() => undefined);
  const rec = await readCurrentRecord(root, udid);
  if (rec !== undefined && status !== undefined && rec.statusIno === status.ino && !taken.has(rec.id)) return rec.id;
  return freeVersionId(versionIdAt(status?.mtime ?? new Date()), taken);
}

/**
 * The backup root and UDID whose history a backup folder belongs to: `<root>/<UDID>` (its current
 * backup) or `<root>/.ibackup/versions/<UDID>/<id>`; undefined for an archive (`<UDID>-date`).
 */
export function historyOwner(dir: string): { root: string; udid: string; id?: string } | undefined {
  const parent = dirname(dir);
  const name = basename(dir);
  if (isVersionId(name) && dirname(parent).endsWith(VERSIONS_DIR)) {
    return { root: dirname(dirname(dirname(parent))), udid: basename(parent), id: name };
  }
  if (/-\d{8}-\d{6}$/.test(name)) return undefined;
  return { root: parent, udid: name };
}

/** The UDIDs that have a versions' folder under `root`. */
export async function udidsWithVersions(root: string): Promise<string[]> {
  const entries = await readdir(join(root, VERSIONS_DIR), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}
