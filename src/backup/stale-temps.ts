/**
 * Unfinished files a run killed outright left in a device's backup folder: `<name>.tmp-<pid>`,
 * and the uploads it was writing under their final names in `Snapshot/` (marked unfinished by
 * their mode: fs-layer.ts).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SNAPSHOT_DIR } from './folder.js';
import { isUnfinished, lstatMaybe, processRuns, type FsLayer } from './fs-layer.js';

/**
 * Removes the unfinished files under `deviceDir` whose run is over (a temporary name's process no
 * longer runs; an upload in `Snapshot/` never marked finished: only one run of a device's backup
 * goes on at a time, device-lock.ts). They were never part of a backup: nothing to keep. Returns
 * how many were removed.
 */
export async function removeStaleTemps(fs: FsLayer, deviceDir: string): Promise<number> {
  let removed = 0;
  const walk = async (dir: string, depth: number, staging: boolean): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < 8) await walk(p, depth + 1, staging || (depth === 0 && e.name === SNAPSHOT_DIR));
        continue;
      }
      if (!e.isFile() || !(await isStale(fs, p, e.name, staging))) continue;
      await fs.rm(p, { force: true });
      removed++;
    }
  };
  await walk(deviceDir, 0, false);
  return removed;
}

async function isStale(fs: FsLayer, p: string, name: string, staging: boolean): Promise<boolean> {
  const m = /\.tmp-(\d+)$/.exec(name);
  if (m) return !processRuns(Number(m[1]));
  if (!staging) return false;
  const st = await lstatMaybe(fs, p);
  return st !== undefined && isUnfinished(st);
}
