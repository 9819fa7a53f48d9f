/**
 * What a backup folder is made of on disk, for the space figures of its history: the inode and
 * size of every file and folder in it. Two versions share a file when they hold the same inode
 * (a hard link), so what only one version holds — what deleting it frees — is the sum of the
 * sizes of the inodes no other folder has. Sizes are apparent sizes (`du -b`).
 *
 * A complete version never changes, so its scan is made once, when it completes, and kept under
 * `.ibackup/history/<UDID>/scans/<id>.bin`; the current backup is scanned when asked.
 */
import { lstatSync, type Dirent, type Stats } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { historyDir } from './versions.js';
import { writeSmallFile } from './small-file.js';

/**
 * The inodes and sizes of a folder's files, and the bytes of its folders (the folder itself
 * included): a folder is never shared, so it belongs to its version alone.
 */
/** The saved form: a mark and version, counts, then every inode, then every size (float64 each). */
const MARK = 0x5343_4e32; // "SCN2"
const HEADER = 4;

export class Scan {
  inos: ArrayLike<number> & { length: number } = [];
  sizes: ArrayLike<number> & { length: number } = [];
  /** Regular files below the top level: the backed-up files. */
  files = 0;
  /** Apparent bytes of the folders. */
  dirBytes = 0;
  private readonly building: { inos: number[]; sizes: number[] } = { inos: [], sizes: [] };

  add(st: Pick<Stats, 'ino' | 'size' | 'isDirectory'>): void {
    if (st.isDirectory()) {
      this.dirBytes += st.size;
      return;
    }
    this.building.inos.push(st.ino);
    this.building.sizes.push(st.size);
    this.inos = this.building.inos;
    this.sizes = this.building.sizes;
  }

  /** Apparent bytes of the files (a backup's files are each a blob of their own: no file is linked twice). */
  get bytes(): number {
    let total = 0;
    for (let i = 0; i < this.sizes.length; i++) total += this.sizes[i] as number;
    return total;
  }

  encode(): Uint8Array {
    const n = this.inos.length;
    const out = new Float64Array(HEADER + n * 2);
    out.set([MARK, this.files, n, this.dirBytes]);
    for (let i = 0; i < n; i++) {
      out[HEADER + i] = this.inos[i] as number;
      out[HEADER + n + i] = this.sizes[i] as number;
    }
    return new Uint8Array(out.buffer);
  }

  /** Reads a saved scan without copying its numbers; undefined for anything else. */
  static decode(bytes: Uint8Array): Scan | undefined {
    if (bytes.byteLength < HEADER * 8 || bytes.byteLength % 8 !== 0) return undefined;
    const all = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const n = all[2] as number;
    if (all[0] !== MARK || all.length !== HEADER + n * 2) return undefined;
    const scan = new Scan();
    scan.files = all[1] as number;
    scan.dirBytes = all[3] as number;
    scan.inos = all.subarray(HEADER, HEADER + n);
    scan.sizes = all.subarray(HEADER + n);
    return scan;
  }
}

/**
 * Walks a folder (not following links) and scans every entry. Metadata the kernel answers from
 * its caches is looked up at once, a folder at a time (as folder-size.ts does).
 */
export async function scanFolder(dir: string): Promise<Scan> {
  const scan = new Scan();
  scan.add(await lstat(dir));
  const stack: [string, boolean][] = [[dir, true]];
  while (stack.length > 0) {
    const [folder, top] = stack.pop() as [string, boolean];
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => [] as Dirent[]);
    await new Promise((r) => setImmediate(r)); // let other work run between folders
    for (const e of entries) {
      const st = lstatSync(join(folder, e.name), { throwIfNoEntry: false });
      if (st === undefined) continue;
      scan.add(st);
      if (st.isDirectory()) stack.push([join(folder, e.name), false]);
      else if (st.isFile() && !top) scan.files++;
    }
  }
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
