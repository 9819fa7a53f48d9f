/**
 * Earlier releases kept the last complete backup only while a run went on, under
 * `<root>/.ibackup/previous/<UDID>/`. Such a copy left by a run that stopped is the last complete
 * backup of its phone: it is completed (the same way as a version) and moved in among the
 * versions, named by its Status.plist's time.
 */
import { join } from 'node:path';
import { lstatMaybe, nodeFs, type FsLayer } from './fs-layer.js';
import { completeVersion, fillingRun, type PlaceFile } from './version-fill.js';
import { freeVersionId, versionDir, versionFolderIds, versionIdAt, versionsDir } from './versions.js';

const OLD_KEPT_DIR = join('.ibackup', 'previous');

export async function adoptOldKeptCopy(
  root: string,
  udid: string,
  place: PlaceFile,
  fs: FsLayer = nodeFs,
): Promise<void> {
  const old = join(root, OLD_KEPT_DIR, udid);
  await fs.rm(`${old}.partial`, { recursive: true, force: true }).catch(() => undefined);
  const status = await lstatMaybe(fs, join(old, 'Status.plist'));
  if (status === undefined || fillingRun(old)?.running === true) return;
  await completeVersion(old, join(root, udid), place, { fs });
  const id = freeVersionId(versionIdAt(status.mtime), new Set(await versionFolderIds(root, udid)));
  await fs.mkdir(versionsDir(root, udid), { recursive: true, mode: 0o755 });
  await fs.rename(old, versionDir(root, udid, id));
  await fs.sync(versionsDir(root, udid), true);
}
