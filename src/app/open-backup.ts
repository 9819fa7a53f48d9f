/**
 * Which backup a command works on. BACKUP is a backup folder path, or a UDID (any case, dashes
 * optional), a backup folder name or a device name looked up under the backup folders. Without
 * BACKUP: the backup of the chosen (or only) connected device; with no device reachable, the
 * only backup there is, else a usage error listing them.
 */
import path from 'node:path';
import { isDirectory, looksLikeBackup } from '../backup/folder.js';
import { listBackups } from '../backup/list.js';
import type { BackupSummary } from '../backup/list.js';
import { settleKeptCopy } from '../backup/preserve.js';
import { pickVersion, readHistory } from '../backup/history.js';
import { historyOwner } from '../backup/versions.js';
import { IbackupError, isIbackupError } from '../errors.js';
import type { HostContext } from './context.js';
import { findDevice, sameUdid } from './select-device.js';

/** Every backup under the roots (no sizes), the preferred root first. */
export async function backupsUnder(roots: readonly string[]): Promise<BackupSummary[]> {
  const seen = new Set<string>();
  const out: BackupSummary[] = [];
  for (const root of roots) {
    for (const b of await listBackups(root, { sizes: false }).catch(() => [] as BackupSummary[])) {
      const key = path.resolve(b.path);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(b);
    }
  }
  return out;
}

function describe(b: BackupSummary): string {
  const when = b.date === null ? '' : `, ${b.date.toISOString().slice(0, 10)}`;
  return `${b.path} (${b.deviceName ?? b.udid}${when}${b.kind === 'archive' ? ', archived' : ''})`;
}

function listingOf(list: readonly BackupSummary[]): string {
  const shown = list.slice(0, 20).map((b) => `  ${describe(b)}`);
  if (list.length > 20) shown.push(`  … and ${list.length - 20} more`);
  return shown.join('\n');
}

/** The current backup of a device (else its newest archive), or undefined. */
function pickFor(list: readonly BackupSummary[]): BackupSummary | undefined {
  const current = list.find((b) => b.kind === 'current');
  return current ?? [...list].sort((a, b) => (b.date?.getTime() ?? 0) - (a.date?.getTime() ?? 0))[0];
}

/**
 * The folder to open for a device's backup folder `dir`: with `at`, that version of its history;
 * without, `dir` itself — unless `dir` is a phone's current backup left unfinished by an
 * interrupted run, then its newest complete version (the last complete backup).
 */
async function versionOf(dir: string, at: string | undefined): Promise<string> {
  const owner = historyOwner(dir);
  if (owner === undefined || (owner.id !== undefined && at === undefined)) {
    if (at !== undefined) throw notAHistory(dir);
    return dir;
  }
  const history = await readHistory(owner.root, owner.udid, { sizes: false });
  if (at !== undefined) return pickVersion(history, at).path;
  if (history.unfinished === null) return dir;
  // A running backup fills the last complete backup's version: it opens when that run ends.
  if (history.busy.length > 0) throw busy(dir);
  return history.versions[0]?.path ?? dir;
}

function notAHistory(dir: string): IbackupError {
  return new IbackupError('USAGE', {
    message: `${dir} is an archive, not a phone's backup with a history, so --at cannot pick a version of it.`,
    remedy: 'Leave out --at to use the archive, or name the phone (its UDID or name) to pick one of its versions.',
    details: { path: dir },
  });
}

/** The kept copy of a last complete backup that a running backup is still filling. */
function busy(dir: string): IbackupError {
  return new IbackupError('BUSY', {
    message: `A backup of this iPhone is running; its last complete backup (${dir}) can be opened when that backup ends.`,
    remedy: 'Wait for the backup to finish, or cancel it, then try again.',
    details: { path: dir },
  });
}

function notFound(what: string, roots: readonly string[], all: readonly BackupSummary[]): IbackupError {
  const there = all.length === 0 ? `There is no backup in ${roots.join(' or ')}.` : `Backups there:\n${listingOf(all)}`;
  return new IbackupError('BACKUP_NOT_FOUND', {
    message: `No backup matches "${what}". ${there}`,
    remedy:
      'Give a backup folder path, or a UDID or device name from "ibackup list" (--backup-dir chooses where to look).',
    details: { backups: all.map((b) => b.path) },
  });
}

/**
 * The folder of the backup BACKUP names (see the module comment); with `at`, the folder of that
 * version of its history (an id, `latest`, `previous`, `latest~N`).
 */
export async function resolveBackupArg(arg: string, roots: readonly string[], at?: string): Promise<string> {
  return versionOf(await resolveFolder(arg, roots), at);
}

/**
 * The folder BACKUP names as it is — a phone's own folder even when its last run did not
 * complete (what `delete` of a phone removes, with its history).
 */
export async function resolveFolder(arg: string, roots: readonly string[]): Promise<string> {
  const wanted = arg.trim();
  if (wanted === '')
    throw new IbackupError('USAGE', {
      message: 'BACKUP is empty.',
      remedy: 'Give a backup folder, a UDID or a device name.',
    });
  const asPath = path.resolve(wanted);
  if (isDirectory(asPath) && looksLikeBackup(asPath)) {
    if (await settleKeptCopy(asPath)) throw busy(asPath);
    return asPath;
  }
  const all = await backupsUnder(roots);
  const byFolder = all.filter((b) => b.folder === wanted);
  if (byFolder.length > 0) return (pickFor(byFolder) ?? (byFolder[0] as BackupSummary)).path;
  const byUdid = all.filter((b) => sameUdid(b.udid, wanted) || sameUdid(b.folder, wanted));
  const hit = pickFor(byUdid);
  if (hit !== undefined) return hit.path;
  let named = all.filter((b) => b.deviceName === wanted);
  if (named.length === 0)
    named = all.filter((b) => b.deviceName !== undefined && b.deviceName.toLowerCase() === wanted.toLowerCase());
  const udids = new Set(named.map((b) => b.udid.replace(/-/g, '').toLowerCase()));
  if (udids.size > 1) {
    throw new IbackupError('USAGE', {
      message: `Backups of ${udids.size} devices are named "${wanted}":\n${listingOf(named)}`,
      remedy: 'Name the backup by its UDID or its folder instead.',
      details: { backups: named.map((b) => b.path) },
    });
  }
  const byName = pickFor(named);
  if (byName !== undefined) return byName.path;
  if (isDirectory(asPath)) {
    throw new IbackupError('BACKUP_NOT_FOUND', {
      message: `The folder ${asPath} holds no backup (no Info.plist, Manifest.plist, Status.plist or Manifest.db).`,
      details: { path: asPath },
    });
  }
  throw notFound(wanted, roots, all);
}

/** Errors that mean "no device to ask": fall back to the backups on disk. */
const NO_DEVICE_CODES = new Set([
  'USBMUXD_UNREACHABLE',
  'NO_DEVICE',
  'DEVICE_NOT_FOUND',
  'TIMEOUT',
  'CONNECTION_CLOSED',
]);

export interface DefaultBackupOptions {
  /** `-u UDID|NAME`. */
  wanted?: string;
  /** To ask usbmuxd which device is connected (omit to look only on disk). */
  host?: HostContext;
  signal?: AbortSignal;
  /** A version of the backup's history (`--at`). */
  at?: string;
}

/**
 * The backup a command without BACKUP works on: the connected (or `-u`) device's backup; with no
 * device reachable, `-u`'s backup on disk, or the only backup there is. Several and none chosen:
 * USAGE listing them.
 */
export async function defaultBackup(roots: readonly string[], options: DefaultBackupOptions = {}): Promise<string> {
  return versionOf(await defaultFolder(roots, options), options.at);
}

async function defaultFolder(roots: readonly string[], options: DefaultBackupOptions): Promise<string> {
  if (options.host !== undefined) {
    try {
      const device = await findDevice(options.host, options.wanted, options.signal);
      const all = await backupsUnder(roots);
      const hit = pickFor(all.filter((b) => sameUdid(b.udid, device.udid) || sameUdid(b.folder, device.udid)));
      if (hit !== undefined) return hit.path;
      throw new IbackupError('BACKUP_NOT_FOUND', {
        message: `There is no backup of the connected iPhone ${device.udid} in ${roots.join(' or ')}.`,
        remedy: 'Make one with "ibackup backup", or name another backup (see "ibackup list").',
      });
    } catch (err) {
      if (!isIbackupError(err) || !NO_DEVICE_CODES.has(err.code)) throw err;
    }
  }
  if (options.wanted !== undefined && options.wanted.trim() !== '') return resolveFolder(options.wanted, roots);
  const all = await backupsUnder(roots);
  if (all.length === 1) return (all[0] as BackupSummary).path;
  if (all.length === 0) throw notFound('(none given)', roots, all);
  throw new IbackupError('USAGE', {
    message: `No iPhone is connected and there are ${all.length} backups; say which one:\n${listingOf(all)}`,
    remedy: 'Give BACKUP as a folder path, a UDID or a device name (see "ibackup list").',
    details: { backups: all.map((b) => b.path) },
  });
}
