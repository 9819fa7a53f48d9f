/**
 * A phone's backup history as it stands on disk: its complete versions, newest first (the
 * current backup `<UDID>/` first when it is complete), what each is, and the space figures:
 * the bytes each version alone holds (what deleting it frees) and the bytes several share, which
 * add up to the disk use of the whole history (`du -b` of `<UDID>/` and its versions' folder,
 * hard links counted once).
 */
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { readBackupFolder } from './folder.js';
import { nodeFs } from './fs-layer.js';
import { adoptOldKeptCopy } from './old-kept-copy.js';
import { completingPlacer, settleVersions } from './preserve.js';
import { sweepRemovedVersions } from './prune.js';
import { readHistorySettings } from './retention.js';
import { readStatusPlist, isSnapshotFinished } from './status.js';
import { scanFolder, versionScan, type Scan } from './version-scan.js';
import { IbackupError } from '../errors.js';
import { currentVersionId, parseVersionId, versionDir, versionsDir } from './versions.js';

export interface VersionInfo {
  id: string;
  path: string;
  /** When the backup completed (from its id). */
  date: Date;
  /** Status.plist's Date: when the phone started that backup. */
  statusDate: Date | null;
  iosVersion: string | null;
  full: boolean;
  encrypted: boolean;
  /** Files backed up (blobs in the folder). */
  files: number;
  /** Apparent bytes of the files in the folder (as `list` counts them). */
  sizeBytes: number;
  /** Bytes no other version holds: its own files and its folders. */
  uniqueBytes: number;
  pinned: boolean;
  /** The current backup `<UDID>/`. */
  current: boolean;
}

export interface DeviceHistory {
  udid: string;
  versions: VersionInfo[];
  /** Bytes held by two or more versions (counted once), plus the versions' folder itself. */
  sharedBytes: number;
  /** `<UDID>/` when the last run did not complete (not a version). */
  unfinished: string | null;
  /** The bytes only that unfinished folder holds (what completing or deleting the phone's backup frees of it). */
  unfinishedBytes: number;
  /** Versions a running backup is still filling (the last complete backup, not openable yet). */
  busy: string[];
}

export interface HistoryOptions {
  /** Compute the space figures (scans every version's files once; default true). */
  sizes?: boolean;
}

interface Folder {
  id: string;
  path: string;
  current: boolean;
}

/** The complete versions' folders, newest first, and the current backup's state. */
async function versionFolders(
  root: string,
  udid: string,
): Promise<{ folders: Folder[]; busy: string[]; unfinished: string | null }> {
  await adoptOldKeptCopy(root, udid, completingPlacer(nodeFs, root)).catch(() => undefined);
  await sweepRemovedVersions(root, udid).catch(() => undefined);
  const settled = await settleVersions(root, udid);
  const older = settled.ids
    .filter((id) => !settled.busy.includes(id))
    .map((id) => ({ id, path: versionDir(root, udid, id), current: false }));
  const currentDir = join(root, udid);
  const exists = (await lstat(currentDir).catch(() => undefined))?.isDirectory() === true;
  const complete = exists && (await readStatusPlist(currentDir).then(isSnapshotFinished, () => false));
  if (!complete) return { folders: older, busy: settled.busy, unfinished: exists ? currentDir : null };
  const id = await currentVersionId(root, udid, new Set(settled.ids));
  return { folders: [{ id, path: currentDir, current: true }, ...older], busy: settled.busy, unfinished: null };
}

async function describe(f: Folder, pinned: ReadonlySet<string>): Promise<VersionInfo> {
  const { info, manifest, status } = await readBackupFolder(f.path);
  return {
    id: f.id,
    path: f.path,
    date: parseVersionId(f.id) ?? new Date(0),
    statusDate: status?.date ?? null,
    iosVersion: info?.productVersion ?? manifest?.lockdown?.productVersion ?? null,
    full: status?.isFullBackup === true,
    encrypted: manifest?.isEncrypted ?? false,
    files: 0,
    sizeBytes: 0,
    uniqueBytes: 0,
    pinned: pinned.has(f.id),
    current: f.current,
  };
}

/**
 * The version `at` names: an id, `latest` (the newest complete backup), `previous` (the one
 * before), or `latest~N` (N versions before the latest, git's form).
 */
export function pickVersion(h: DeviceHistory, at: string): VersionInfo {
  const wanted = at.trim();
  const back = /^latest~(\d{1,4})$/.exec(wanted);
  const index = wanted === 'latest' ? 0 : wanted === 'previous' ? 1 : back !== null ? Number(back[1]) : -1;
  const hit = index >= 0 ? h.versions[index] : h.versions.find((v) => v.id === wanted);
  if (hit !== undefined) return hit;
  const ids = h.versions.map((v) => v.id);
  const busy =
    h.busy.length > 0 ? ' A backup of this iPhone is running; its last complete backup opens when it ends.' : '';
  throw new IbackupError('VERSION_NOT_FOUND', {
    message:
      ids.length === 0
        ? `There is no complete backup of ${h.udid} to take "${wanted}" from.${busy}`
        : `"${wanted}" names no version of the backup of ${h.udid} (${ids.length} kept: ${ids.slice(0, 8).join(', ')}${ids.length > 8 ? ', …' : ''}).${busy}`,
    remedy: 'Give a version id from "ibackup history", or latest, previous or latest~N.',
    details: { at: wanted, versions: ids },
  });
}

/** What one folder holds: its files, their bytes, and the bytes no other folder holds. */
type Figures = Pick<VersionInfo, 'files' | 'sizeBytes' | 'uniqueBytes'>;

/**
 * Fills in each folder's figures from its scan; returns the bytes several folders share. Two
 * passes over every inode: how many folders hold it, then whose alone it is.
 */
function account(versions: Figures[], scans: readonly Scan[], container: Stats | undefined): number {
  const holders = new Map<number, number>();
  for (const scan of scans) {
    const { inos } = scan;
    for (let k = 0; k < inos.length; k++) {
      const ino = inos[k] as number;
      holders.set(ino, (holders.get(ino) ?? 0) + 1);
    }
  }
  let shared = container?.size ?? 0;
  const sharedSeen = new Set<number>();
  scans.forEach((scan, i) => {
    const v = versions[i] as Figures;
    v.files = scan.files;
    v.sizeBytes = scan.bytes;
    v.uniqueBytes = scan.dirBytes; // folders are never shared
    const { inos, sizes } = scan;
    for (let k = 0; k < inos.length; k++) {
      const ino = inos[k] as number;
      if (holders.get(ino) === 1) v.uniqueBytes += sizes[k] as number;
      else if (!sharedSeen.has(ino)) {
        sharedSeen.add(ino);
        shared += sizes[k] as number;
      }
    }
  });
  return shared;
}

/** The disk space of the whole history: `du` of `<UDID>/` and its versions (hard links counted once). */
export function historyBytes(h: DeviceHistory): number {
  return h.versions.reduce((n, v) => n + v.uniqueBytes, 0) + h.sharedBytes + h.unfinishedBytes;
}

/** Reads a device's history under `root` (completing versions whose run died). */
export async function readHistory(root: string, udid: string, opts: HistoryOptions = {}): Promise<DeviceHistory> {
  const { folders, busy, unfinished } = await versionFolders(root, udid);
  const settings = await readHistorySettings(root, udid);
  const pinned = new Set(settings.pinned);
  const versions = await Promise.all(folders.map((f) => describe(f, pinned)));
  let sharedBytes = 0;
  // An unfinished current folder is no version, but it holds files too (some shared with them).
  const left: Figures = { files: 0, sizeBytes: 0, uniqueBytes: 0 };
  if (opts.sizes !== false && (folders.length > 0 || unfinished !== null)) {
    const scans = await Promise.all([
      ...folders.map((f) => (f.current ? scanFolder(f.path) : versionScan(root, udid, f.id, f.path))),
      ...(unfinished === null ? [] : [scanFolder(unfinished)]),
    ]);
    const container = await lstat(versionsDir(root, udid)).catch(() => undefined);
    sharedBytes = account([...versions, left], scans, container);
  }
  return { udid, versions, sharedBytes, unfinished, unfinishedBytes: left.uniqueBytes, busy };
}
