/**
 * Keeps the last complete backup of a device safe while a new run changes `<root>/<UDID>/`.
 * Apple's staging moves new blobs over old ones and removes deleted ones, so a run that dies
 * half-way leaves neither the old backup nor the new one. Before the first change of a run, the
 * complete backup's files are hard-linked (no data copied) into `<root>/.ibackup/previous/<UDID>/`;
 * that copy is released only once the new backup is complete and flushed. Where the disk cannot
 * hold hard links (exFAT, FAT), the files are copied only with the user's consent.
 */
import { join, sep } from 'node:path';
import { IbackupError } from '../errors.js';
import { isSnapshotFinished, readStatusPlist } from './status.js';
import { nodeFs, parallel, type FsLayer } from './fs-layer.js';
import { SNAPSHOT_DIR } from './folder.js';

/** Where preserved copies live, under the backup root (hidden from `list` as a root entry). */
export const PREVIOUS_DIR = join('.ibackup', 'previous');

export interface PreserveOptions {
  fs?: FsLayer;
  /** Copy the files when hard links are impossible (the user agreed to use the space). */
  allowCopy?: boolean;
}

/** Error codes of file systems without hard links. */
const NO_LINKS = new Set(['EPERM', 'EXDEV', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/** The preserved copy's folder of a device. */
export function previousDir(root: string, udid: string): string {
  return join(root, PREVIOUS_DIR, udid);
}

export type PreserveState = 'none' | 'kept' | 'preserved' | 'released';

export class Preserver {
  private readonly fs: FsLayer;
  private readonly dir: string;
  private readonly dest: string;
  private state: PreserveState | 'idle' = 'idle';
  private pending: Promise<void> | undefined;
  /** Files linked (or copied) into the preserved copy in this run. */
  files = 0;
  copied = false;

  constructor(
    readonly root: string,
    readonly udid: string,
    private readonly opts: PreserveOptions = {},
  ) {
    this.fs = opts.fs ?? nodeFs;
    this.dir = join(root, udid);
    this.dest = previousDir(root, udid);
  }

  /** What happened so far: nothing to keep, an earlier copy kept, preserved now, released. */
  get status(): PreserveState | 'idle' {
    return this.state;
  }

  /**
   * Called before every change in `<UDID>/`: the first call preserves the complete backup (once;
   * concurrent callers wait for the same work). Throws a plain-words error when it cannot.
   */
  beforeChange(): Promise<void> {
    this.pending ??= this.preserve();
    return this.pending;
  }

  private async preserve(): Promise<void> {
    const currentComplete = await isComplete(this.dir);
    const earlier = await isComplete(this.dest);
    if (!currentComplete) {
      // An interrupted run left `<UDID>/` half-done: an earlier preserved copy is the last
      // complete backup and stays as it is until this run completes.
      this.state = earlier ? 'kept' : 'none';
      return;
    }
    // A kept copy beside a complete backup: the run that completed it died before releasing the
    // copy, perhaps before its flush. Make that backup durable before the copy goes.
    if (earlier) await this.fs.syncFileSystem?.(this.root);
    const partial = `${this.dest}.partial`;
    await this.fs.rm(partial, { recursive: true, force: true });
    await this.fs.rm(this.dest, { recursive: true, force: true });
    const dirs: string[] = [];
    await this.cloneTree(this.dir, partial, dirs, true);
    // The links must be on disk before the device starts replacing the originals.
    await parallel(dirs, 32, (d) => this.fs.sync(d, true));
    await this.fs.rename(partial, this.dest);
    await this.fs.sync(join(this.root, PREVIOUS_DIR), true);
    this.state = 'preserved';
  }

  private async cloneTree(from: string, to: string, dirs: string[], top: boolean): Promise<void> {
    await this.fs.mkdir(to, { recursive: true, mode: 0o755 });
    dirs.push(to);
    const names = await this.fs.readdir(from);
    const files: string[] = [];
    for (const name of names) {
      if (top && name === SNAPSHOT_DIR) continue; // staging is not part of the backup
      if (name.includes('.tmp-')) continue;
      const st = await this.fs.lstat(join(from, name)).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await this.cloneTree(join(from, name), join(to, name), dirs, false);
      else if (st.isFile()) files.push(name);
    }
    await parallel(files, 16, (name) => this.linkOne(join(from, name), join(to, name)));
  }

  private async linkOne(from: string, to: string): Promise<void> {
    if (!this.copied) {
      try {
        await this.fs.link(from, to);
        this.files++;
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (!NO_LINKS.has(code)) throw err;
        if (this.opts.allowCopy !== true) throw noHardLinks(this.root, code, err);
        this.copied = true;
      }
    }
    await this.fs.copyFile(from, to);
    this.files++;
  }

  /**
   * The new backup is complete and flushed: the preserved copy is no longer needed. A leftover
   * from an earlier interrupted run is released too.
   */
  async release(): Promise<void> {
    if (this.pending) await this.pending.catch(() => undefined);
    this.fs.event?.('released');
    await this.fs.rm(this.dest, { recursive: true, force: true });
    await this.fs.rm(`${this.dest}.partial`, { recursive: true, force: true });
    this.state = 'released';
  }

  /** True when `path` (a local path) is inside the device's folder. */
  covers(path: string): boolean {
    return path === this.dir || path.startsWith(this.dir + sep);
  }
}

async function isComplete(dir: string): Promise<boolean> {
  const status = await readStatusPlist(dir).catch(() => undefined);
  return isSnapshotFinished(status);
}

function noHardLinks(root: string, code: string, cause: unknown): IbackupError {
  return new IbackupError('HARD_LINKS_UNSUPPORTED', {
    message: `The disk holding ${root} cannot make hard links (${code}), so ibackup cannot keep the last complete backup safe during this backup without copying it.`,
    remedy: 'Run the backup again with --allow-copy to keep a full copy while it runs (it needs as much free space as the backup), or use a disk formatted as APFS, ext4 or NTFS.',
    cause,
    details: { path: root, errno: code },
  });
}
