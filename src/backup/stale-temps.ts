/** Unfinished files (`<name>.tmp-<pid>`) left in a device's backup folder by a run killed outright. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { processRuns, type FsLayer } from './fs-layer.js';

/**
 * Removes the unfinished files under `deviceDir` whose process no longer runs. They were never
 * part of a backup: nothing to keep. Returns how many were removed.
 */
export async function removeStaleTemps(fs: FsLayer, deviceDir: string): Promise<number> {
  let removed = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < 8) await walk(p, depth + 1);
        continue;
      }
      const m = /\.tmp-(\d+)$/.exec(e.name);
      if (!m || !e.isFile() || processRuns(Number(m[1]))) continue;
      await fs.rm(p, { force: true });
      removed++;
    }
  };
  await walk(deviceDir, 0);
  return removed;
}
