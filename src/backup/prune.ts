/**
 * Removing versions of a phone's backup: one asked for (`delete --at`), or those the retention
 * policy no longer keeps. A version is first renamed to a hidden `.deleting-…` name beside the
 * others (one atomic step, flushed: from then on it is no version), then its files go. A kill in
 * between leaves only that hidden folder, which the next removal sweeps; never half a version.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSnapshotFinished, readStatusPlist } from './status.js';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { fillingRun } from './version-fill.js';
import { forgetScan } from './version-scan.js';
import { keptVersionIds, readHistorySettings } from './retention.js';
import {
  currentVersionId,
  DELETING_PREFIX,
  versionDir,
  versionFolderIds,
  versionsDir,
  writeCurrentRecord,
} from './versions.js';

/** Removes what interrupted removals left among a device's versions. */
export async function sweepRemovedVersions(root: string, udid: string, fs: FsLayer = nodeFs): Promise<void> {
  const dir = versionsDir(root, udid);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(DELETING_PREFIX) || name.endsWith('.partial')) {
      await fs.rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/** Removes one version folder (see the module comment). */
export async function removeVersion(root: string, udid: string, id: string, fs: FsLayer = nodeFs): Promise<void> {
  const trash = join(versionsDir(root, udid), `${DELETING_PREFIX}${id}-${randomBytes(4).toString('hex')}`);
  await fs.rename(versionDir(root, udid, id), trash);
  await fs.sync(versionsDir(root, udid), true);
  fs.event?.('version-hidden');
  await forgetScan(root, udid, id, fs).catch(() => undefined);
  await fs.rm(trash, { recursive: true, force: true });
}

/** The ids of a device's complete versions: its versions' folders, and its current backup when complete. */
export async function completeVersionIds(root: string, udid: string): Promise<{ ids: string[]; current?: string }> {
  const folders = (await versionFolderIds(root, udid)).filter(
    (id) => fillingRun(versionDir(root, udid, id)) === undefined,
  );
  const complete = await readStatusPlist(join(root, udid)).then(isSnapshotFinished, () => false);
  if (!complete) return { ids: folders };
  const current = await currentVersionId(root, udid, new Set(folders));
  return { ids: [current, ...folders], current };
}

/**
 * Removes the versions the device's retention policy no longer keeps at `now`; returns their ids.
 * Called once the newest backup is complete and flushed. The newest complete backup and pinned
 * versions are always kept; a version a running backup fills is never touched.
 */
export async function pruneVersions(root: string, udid: string, now: Date, fs: FsLayer = nodeFs): Promise<string[]> {
  await sweepRemovedVersions(root, udid, fs);
  const { ids, current } = await completeVersionIds(root, udid);
  const settings = await readHistorySettings(root, udid);
  const keep = keptVersionIds(ids, now, settings.policy, new Set(settings.pinned));
  const gone: string[] = [];
  for (const id of ids) {
    if (keep.has(id) || id === current) continue;
    await removeVersion(root, udid, id, fs);
    gone.push(id);
  }
  return gone;
}

/**
 * After the current backup `<UDID>/` was deleted on its own: the newest complete version moves
 * back to `<UDID>/` (one rename: no copy), where Finder and iTunes look, keeping its id.
 */
export async function promoteNewestVersion(
  root: string,
  udid: string,
  fs: FsLayer = nodeFs,
): Promise<string | undefined> {
  const id = (await versionFolderIds(root, udid)).find((v) => fillingRun(versionDir(root, udid, v)) === undefined);
  if (id === undefined) return undefined;
  await fs.rename(versionDir(root, udid, id), join(root, udid));
  await fs.sync(root, true);
  const status = await fs.lstat(join(root, udid, 'Status.plist')).catch(() => undefined);
  if (status !== undefined) {
    await writeCurrentRecord(
      root,
      udid,
      { id, completed: new Date().toISOString(), full: false, statusIno: status.ino },
      fs,
    );
  }
  await forgetScan(root, udid, id, fs).catch(() => undefined);
  return id;
}
