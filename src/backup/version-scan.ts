/**
 * What a backup folder is made of on disk, for the space figures of its history: the inode and
 * size of every file and folder in it. Two versions share a file when they hold the same inode
 * (a hard link), so what only one version holds — what deleting it frees — is the sum of the
 * sizes of the inodes no other folder has. Sizes are apparent sizes (`du -b`).
 *
 * A complete version never changes, so its scan is made once, when it completes, and kept under
 * `.ibackup/history/<UDID>/scans/<id>.bin`; the current backup is scanned when asked.
 */
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { parallel } from '../parallel.js';
import { historyDir } from './versions.js';
import { writeSmallFile } from './small-file.js';

/** The inodes and sizes of a folder's entries (the folder itself included). */
export class Scan {
  readonly inos: number[] = [];
  readonly sizes: number[] = [];
  /** Regular files below the top level: the backed-up files. */
  files = 0;

  add(st: Pick<Stats, 'ino' | 'size'>): void {
    this.inos.push(st.ino);
    this.sizes.push(st.size);
  }

  /** Apparent bytes of the folder, a file linked twice in it counted once. */
  get bytes(): number {
    const seen = new Set<number>();
    let total = 0;
    for (let i = 0; i < this.inos.length; i++) {
      const ino = this.inos[i] as number;
      if (seen.has(ino)) continue;
      seen.add(ino);
      total += this.sizes[i] as number;
    }
    return total;
  }

  encode(): Uint8Array {
    const out = new Float64Array(2 + this.inos.length * 2);
    out[0] = this.files;
    out[1] = this.inos.length;
    for (let i = 0; i < this.inos.length; i++) {
      out[2 + i * 2] = this.inos[i] as number;
      out[3 + i * 2] = this.sizes[i] as number;
    }
    return new Uint8Array(out.buffer);
  }

  static decode(bytes: Uint8Array): Scan | undefined {
    if (bytes.byteLength < 16 || bytes.byteLength % 8 !== 0) return undefined;
    const all = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const count = all[1] as number;
    if (all.length !== 2 + count * 2) return undefined;
    const scan = new Scan();
    scan.files = all[0] as number;
    for (let i = 0; i < count; i++) {
      scan.inos.push(all[2 + i * 2] as number);
      scan.sizes.push(all[3 + i * 2] as number);
    }
    return scan;
  }
}

/** Walks a folder (not following links) and scans every entry. */
export async function scanFolder(dir: string): Promise<Scan> {
  const scan = new Scan();
  scan.add(await lstat(dir));
  const walk = async (folder: string, top: boolean): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => [] as Dirent[]);
    const subdirs: string[] = [];
    await parallel(entries, 32, async (e) => {
      const st = await lstat(join(folder, e.name)).catch(() => undefined);
      if (st === undefined) return;
      scan.add(st);
      if (st.isDirectory()) subdirs.push(join(folder, e.name));
      else if (st.isFile() && !top) scan.files++;
    });
    await parallel(subdirs, 4, (d) => walk(d, false));
  };
  await walk(dir, true);
  return scan;
}

function scanPath(root: string, udid: string, id: string): string {
  return join(historyDir(root, udid), 'scans', `${id}.bin`);
}

export async function saveScan(root: string, udid: string, id: string, scan: Scan, fs: FsLayer = nodeFs) {
  await writeSmallFile(fs, scanPath(root, udid, id), scan.encode());
}

/** The saved scan of a complete version, else a new one (then saved for next time). */
export async function versionScan(root: string, udid: string, id: string, dir: string): Promise<Scan> {
  const saved = await readFile(scanPath(root, udid, id)).then(
    (b) => Scan.decode(b),
    () => undefined,
  );
  if (saved !== undefined) return saved;
  const scan = await scanFolder(dir);
  await saveScan(root, udid, id, scan).catch(() => undefined);
  return scan;
}

export async function forgetScan(root: string, udid: string, id: string, fs: FsLayer = nodeFs): Promise<void> {
  await fs.rm(scanPath(root, udid, id), { force: true });
}
