/**
 * Archiving a backup folder as Finder's "Archive" does: every file is hard-linked (a backup's
 * files are replaced, never changed in place, so the archive costs no space and later backups do
 * not change it) into a hidden `.archiving-…` folder, copied where links are impossible; the
 * folder is flushed and renamed to `<UDID>-YYYYMMDD-HHMMSS`. Leftovers of an interrupted archive
 * are hidden, never listed, and removed by the next delete or archive in that root.
 */
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { IbackupError } from '../errors.js';
import { parallel } from '../parallel.js';
import { SNAPSHOT_DIR } from './folder.js';
import { nodeFs } from './fs-layer.js';
import { LinkOrCopy } from './hard-links.js';
import { folderSize } from './list.js';
import { errnoOf, fileError, holdTemp, sweepLeftovers, tempName, type Located } from './managed-folder.js';

/** How many later seconds to try when an archive of that second already exists. */
const NAME_TRIES = 60;

/** `<UDID>-YYYYMMDD-HHMMSS` in local time, as Finder names an archived backup. */
export function archiveFolderName(udid: string, when: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const day = `${String(when.getFullYear()).padStart(4, '0')}${two(when.getMonth() + 1)}${two(when.getDate())}`;
  return `${udid}-${day}-${two(when.getHours())}${two(when.getMinutes())}${two(when.getSeconds())}`;
}

/** A copy of a folder tree being made: its folders, the files copied (not linked), how to place a file. */
class TreeClone {
  readonly dirs: string[] = [];
  readonly copied: string[] = [];
  readonly files = new LinkOrCopy(nodeFs, {
    copy: async (src, dst) => {
      await copyFile(src, dst, constants.COPYFILE_EXCL);
      const st = await lstat(src);
      await utimes(dst, st.atime, st.mtime).catch(() => undefined);
      this.copied.push(dst);
    },
  });

  /** Recreates `from` under `to`: folders made, files hard-linked (else copied), links skipped. */
  async clone(from: string, to: string, top: boolean): Promise<void> {
    await mkdir(to, { mode: 0o755 });
    this.dirs.push(to);
    const entries = await readdir(from, { withFileTypes: true });
    const files: string[] = [];
    for (const e of entries) {
      if (top && e.name === SNAPSHOT_DIR) continue;
      if (e.name.includes('.tmp-')) continue; // an unfinished file of a running backup
      if (e.isDirectory()) await this.clone(path.join(from, e.name), path.join(to, e.name), false);
      else if (e.isFile()) files.push(e.name);
    }
    await parallel(files, 16, async (name) => this.files.place(path.join(from, name), path.join(to, name)));
  }

  /** Flushes what was copied, then every folder's entries. */
  async flush(): Promise<void> {
    await parallel(this.copied, 16, (f) => nodeFs.sync(f, false));
    await parallel(this.dirs, 32, (d) => nodeFs.sync(d, true));
  }
}

/** Renames the finished archive to the first free `<UDID>-YYYYMMDD-HHMMSS` from `now` on. */
async function publish(tmp: string, loc: Located, udid: string, now: Date): Promise<{ name: string; dest: string }> {
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
    return { name, dest };
  }
  throw new IbackupError('USAGE', {
    message: `Archives of ${udid} already exist for every second from ${archiveFolderName(udid, now)} on.`,
    remedy: 'Wait a minute and archive again, or delete an archive you no longer need.',
    details: { path: loc.shown },
  });
}

/**
 * Archives a located complete backup as `<udid>-YYYYMMDD-HHMMSS` (local time of `now`) in the
 * same root; when that name exists, the next free second is used. Returns the archive's path
 * (under the root as configured) and size.
 */
export async function archiveBackupFolder(
  loc: Located,
  udid: string,
  now: Date,
): Promise<{ archive: string; sizeBytes: number }> {
  await sweepLeftovers(loc.rootReal);
  const tmp = path.join(loc.rootReal, tempName('archiving', udid));
  const hold = holdTemp(tmp);
  try {
    const tree = new TreeClone();
    try {
      await tree.clone(loc.real, tmp, true);
      await tree.flush();
    } catch (err) {
      throw fileError(`make the archive of ${loc.shown}`, err);
    }
    const { name, dest } = await publish(tmp, loc, udid, now);
    return { archive: path.join(loc.root, name), sizeBytes: await folderSize(dest) };
  } finally {
    hold.done();
    await rm(tmp, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
  }
}
