/**
 * What the device may ask of the backup folder without changing it: a folder's entries, as
 * DLContentsOfDirectory reports them, and the free space where the backup is written.
 */
import { join } from 'node:path';
import { isUnfinished, type FsLayer } from './fs-layer.js';

/** A file or folder as DLContentsOfDirectory reports it. */
export interface StoreEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  mtime: Date;
}

/** A folder's entries, truthfully; a missing folder lists as empty; our own unfinished files are left out. */
export async function listFolder(fs: FsLayer, local: string): Promise<StoreEntry[]> {
  const names = await fs.readdir(local).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  const out: StoreEntry[] = [];
  for (const name of names) {
    if (name.includes('.tmp-')) continue; // our own unfinished files are not part of the backup
    const st = await fs.lstat(join(local, name)).catch(() => undefined);
    if (!st || isUnfinished(st)) continue; // an upload still being written (or left so by a killed run)
    out.push({
      name,
      type: st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other',
      size: st.size,
      mtime: st.mtime,
    });
  }
  return out;
}

/** Free bytes at `root`: the available blocks in the file system's own unit (f_frsize where known). */
export async function freeBytes(fs: FsLayer, root: string): Promise<number> {
  const s = await fs.statfs(root);
  const unit = (await fs.fragmentSize?.(root)) ?? Number(s.bsize);
  return Number(s.bavail) * unit;
}
