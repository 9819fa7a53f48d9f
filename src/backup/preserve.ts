/**
 * Keeps the last complete backup of a device safe while a new run changes `<root>/<UDID>/`.
 * Apple's staging moves new blobs over old ones and removes deleted ones, so a run that dies
 * half-way leaves neither the old backup nor the new one.
 *
 * At a run's first change, an empty copy is made at `<root>/.ibackup/previous/<UDID>/` with a
 * marker naming the running process, plus hard links to the top-level files (Info.plist,
 * Status.plist, the manifests). From then on, each file is hard-linked into the copy just before
 * the run replaces or removes it (no data copied; the links are flushed before the change). A
 * file absent from the copy is unchanged in `<UDID>/`, so the copy and the unchanged files
 * together are the last complete backup: an incremental backup touches only what changed.
 *
 * When a run ends without completing (an error, a kill, a crash), the copy is completed from the
 * unchanged files (`completeKeptCopy`: more hard links) by the run itself, or by the next `list`,
 * `info`, `verify` or backup; it is then a complete backup folder of its own. When the new
 * backup is complete and flushed, the copy is released. Where the disk cannot hold hard links
 * (exFAT, FAT), the files are copied only with the user's consent.
 */
import { randomBytes } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { IbackupError } from '../errors.js';
import { isSnapshotFinished, readStatusPlist } from './status.js';
import { lstatMaybe, nodeFs, parentDir, processRuns, type FsLayer } from './fs-layer.js';
import { parallel } from '../parallel.js';
import { SNAPSHOT_DIR } from './folder.js';
import { LinkOrCopy } from './hard-links.js';

/** Where preserved copies live, under the backup root (hidden from `list` as a root entry). */
export const PREVIOUS_DIR = join('.ibackup', 'previous');
/** In a copy still being filled by a run: that run's process id (JSON). */
export const RUN_MARKER = '.ibackup-run';
/** The top-level files linked into the copy as soon as it is made. */
const TOP_FILES = ['Info.plist', 'Status.plist', 'Manifest.plist', 'Manifest.db', 'Manifest.mbdb'];

export interface PreserveOptions {
  fs?: FsLayer;
  /** Copy the files when hard links are impossible (the user agreed to use the space). */
  allowCopy?: boolean;
}

/** The preserved copy's folder of a device. */
export function previousDir(root: string, udid: string): string {
  return join(root, PREVIOUS_DIR, udid);
}

/** none: nothing complete to keep; kept: an earlier copy is the last complete backup; preserving: this run fills a copy. */
export type PreserveState = 'none' | 'kept' | 'preserving' | 'released';

export class Preserver {
  private readonly fs: FsLayer;
  private readonly dir: string;
  private readonly dest: string;
  private readonly linker: Linker;
  private state: PreserveState | 'idle' = 'idle';
  private started: Promise<void> | undefined;
  /** Local paths preserved (or found absent) in this run, or being preserved now. */
  private readonly handled = new Map<string, Promise<void>>();

  constructor(
    readonly root: string,
    readonly udid: string,
    opts: PreserveOptions = {},
  ) {
    this.fs = opts.fs ?? nodeFs;
    this.dir = join(root, udid);
    this.dest = previousDir(root, udid);
    this.linker = new Linker(this.fs, root, opts.allowCopy === true);
  }

  /** What happened so far. */
  get status(): PreserveState | 'idle' {
    return this.state;
  }

  /**
   * Called before every change in `<UDID>/`. The first call sets the copy up (once; concurrent
   * callers wait for the same work). When `loses` is true, what is at `local` now (a file, or a
   * whole folder) is about to be replaced or removed and is preserved first; a new folder loses
   * nothing. Throws a plain-words error when it cannot keep the backup safe.
   */
  async beforeChange(local: string, loses = true): Promise<void> {
    this.started ??= this.start();
    await this.started;
    if (this.state !== 'preserving' || !loses) return;
    await this.preserve(local);
  }

  private async start(): Promise<void> {
    const currentComplete = await isComplete(this.dir);
    const earlier = await isComplete(this.dest);
    if (!currentComplete) {
      // An interrupted run left `<UDID>/` half-done: an earlier copy is the last complete backup
      // and stays as it is (completed first if that run died while filling it) until this run completes.
      if (earlier) await completeKeptCopy(this.dest, this.fs);
      this.state = earlier ? 'kept' : 'none';
      return;
    }
    // A copy beside a complete backup: the run that completed it died before releasing the copy,
    // perhaps before its flush. Make that backup durable before the copy goes.
    if (earlier) await this.fs.syncFileSystem?.(this.root);
    const partial = `${this.dest}.partial`;
    await this.fs.rm(partial, { recursive: true, force: true });
    await this.fs.rm(this.dest, { recursive: true, force: true });
    await this.fs.mkdir(partial, { recursive: true, mode: 0o755 });
    await writeMarker(this.fs, partial);
    for (const name of TOP_FILES) {
      this.handled.set(join(this.dir, name), Promise.resolve());
      await this.linker.linkOrCopy(join(this.dir, name), join(partial, name));
    }
    // The copy must be on disk before the device starts replacing the originals.
    await this.fs.sync(partial, true);
    await this.fs.rename(partial, this.dest);
    await this.fs.sync(join(this.root, PREVIOUS_DIR), true);
    this.state = 'preserving';
  }

  /** Links what is at `local` (a file or a whole folder) into the copy, then flushes the links. */
  private preserve(local: string): Promise<void> {
    if (!this.covers(local)) return Promise.resolve();
    const rel = local.slice(this.dir.length + 1);
    if (rel === SNAPSHOT_DIR || rel.startsWith(SNAPSHOT_DIR + sep) || local.includes('.tmp-')) return Promise.resolve(); // staging: not part of the backup
    let p = this.handled.get(local);
    if (!p) {
      p = this.preserveNow(local, rel);
      this.handled.set(local, p);
    }
    return p;
  }

  private async preserveNow(local: string, rel: string): Promise<void> {
    const st = await lstatMaybe(this.fs, local);
    if (!st) return;
    if (st.isDirectory()) {
      const names = await this.fs.readdir(local);
      await parallel(names, 16, (name) => this.preserve(join(local, name)));
      return;
    }
    if (!st.isFile()) return;
    const to = rel === '' ? this.dest : join(this.dest, rel);
    await this.linker.ensureDir(parentDir(to), this.dest);
    await this.linker.linkOrCopy(local, to);
    await this.linker.flushDir(parentDir(to));
  }

  /**
   * The new backup is complete and flushed: the preserved copy is no longer needed. A leftover
   * from an earlier interrupted run is released too.
   */
  async release(): Promise<void> {
    if (this.started) await this.started.catch(() => undefined);
    this.fs.event?.('released');
    await this.fs.rm(this.dest, { recursive: true, force: true });
    await this.fs.rm(`${this.dest}.partial`, { recursive: true, force: true });
    this.state = 'released';
  }

  /**
   * The run ends without completing: the copy this run was filling becomes a complete backup
   * folder of its own, so that it is the last complete backup for every reader.
   */
  async abandon(): Promise<void> {
    if (!this.started) return;
    await this.started.catch(() => undefined);
    if (this.state !== 'preserving') return;
    await completeKeptCopy(this.dest, this.fs);
    this.state = 'kept';
  }

  /** True when `path` (a local path) is inside the device's folder. */
  covers(path: string): boolean {
    return path === this.dir || path.startsWith(this.dir + sep);
  }
}

/** Whether the preserved copy at `dir` is still being filled, and by which process. */
export function keptCopyRun(dir: string): { pid: number; running: boolean } | undefined {
  let pid: number;
  try {
    pid = Number((JSON.parse(readFileSync(join(dir, RUN_MARKER), 'utf8')) as { pid?: unknown }).pid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    pid = NaN; // unreadable: treated as a run that died
  }
  return { pid, running: Number.isInteger(pid) && pid > 0 && processRuns(pid) };
}

/**
 * Makes a kept copy whole when the run that filled it has ended (see completeKeptCopy). Resolves
 * true when a running backup still fills it: it cannot be opened, deleted or archived until then.
 */
export async function settleKeptCopy(dir: string): Promise<boolean> {
  const run = keptCopyRun(dir);
  if (run?.running === true) return true;
  if (run !== undefined) await completeKeptCopy(dir);
  return false;
}

/**
 * Completes a copy that a run was filling when it stopped: every file of `<UDID>/` the run did
 * not replace or remove is hard-linked in (unchanged since the last complete backup), the links
 * are flushed, and the marker goes. Nothing when the copy is already complete; safe to repeat.
 */
export async function completeKeptCopy(dest: string, fs: FsLayer = nodeFs): Promise<void> {
  // `<root>/.ibackup/previous/<UDID>` keeps `<root>/<UDID>`.
  const root = join(dest, '..', '..', '..');
  const udid = basename(dest);
  if ((await lstatMaybe(fs, join(dest, RUN_MARKER))) === undefined) return;
  // Copies are allowed here: a copy being filled on a disk without hard links exists only
  // because the user agreed to copies when that run started.
  const linker = new Linker(fs, root, true);
  const dirs = new Set<string>([dest]);
  const walk = async (from: string, to: string, top: boolean): Promise<void> => {
    const names = await fs.readdir(from).catch(() => [] as string[]);
    const files: string[] = [];
    for (const name of names) {
      if ((top && (name === SNAPSHOT_DIR || name === RUN_MARKER)) || name.includes('.tmp-')) continue;
      const st = await lstatMaybe(fs, join(from, name));
      if (st?.isDirectory()) {
        await fs.mkdir(join(to, name), { recursive: true, mode: 0o755 });
        dirs.add(join(to, name));
        await walk(join(from, name), join(to, name), false);
      } else if (st?.isFile()) files.push(name);
    }
    await parallel(files, 16, async (name) => {
      if ((await lstatMaybe(fs, join(to, name))) !== undefined) return; // preserved before its change
      await linker.linkOrCopy(join(from, name), join(to, name));
    });
  };
  await walk(join(root, udid), dest, true);
  await parallel([...dirs], 32, (d) => fs.sync(d, true));
  await fs.rm(join(dest, RUN_MARKER), { force: true });
  await fs.sync(dest, true);
}

/** Hard links (or, with consent, copies) files into a preserved copy; flushes folders in groups. */
class Linker {
  private readonly links: LinkOrCopy;
  /** Folders of the copy made (or being made) in this run, with their entries flushed. */
  private readonly made = new Map<string, Promise<void>>();
  /** Folder flushes not started yet: every link made before one starts is covered by it. */
  private readonly waiting = new Map<string, Promise<void>>();

  constructor(
    private readonly fs: FsLayer,
    root: string,
    allowCopy: boolean,
  ) {
    this.links = new LinkOrCopy(fs, {
      // The file is gone (nothing to keep) or already in the copy (preserved before its change).
      nothingToDo: new Set(['ENOENT', 'EEXIST']),
      noLinks: (code, err) => {
        if (!allowCopy) throw noHardLinks(root, code, err);
      },
      copy: (from, to) => this.copyWhole(from, to),
    });
  }

  /** Makes a folder of the copy; the new folders' entries are flushed with their parents. */
  ensureDir(dir: string, top: string): Promise<void> {
    if (dir === top) return Promise.resolve();
    let p = this.made.get(dir);
    if (!p) {
      p = (async () => {
        const first = await this.fs.mkdir(dir, { recursive: true, mode: 0o755 });
        if (first === undefined) return;
        const parents: string[] = [];
        for (let d = dir; d.length >= first.length; d = parentDir(d)) parents.push(parentDir(d));
        await Promise.all(parents.map((d) => this.flushDir(d)));
      })();
      this.made.set(dir, p);
    }
    return p;
  }

  /** Flushes a folder of the copy; callers arriving before the flush starts share it. */
  flushDir(dir: string): Promise<void> {
    let p = this.waiting.get(dir);
    if (!p) {
      p = new Promise<void>((done) => setImmediate(done)).then(() => {
        this.waiting.delete(dir);
        return this.fs.sync(dir, true);
      });
      this.waiting.set(dir, p);
    }
    return p;
  }

  /** One file into the copy; a file already there stays (it was preserved before a change). */
  linkOrCopy(from: string, to: string): Promise<void> {
    return this.links.place(from, to);
  }

  /** A copy is written whole under a temporary name and flushed before it takes its name. */
  private async copyWhole(from: string, to: string): Promise<void> {
    if ((await lstatMaybe(this.fs, from)) === undefined || (await lstatMaybe(this.fs, to)) !== undefined) return;
    const tmp = `${to}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    await this.fs.copyFile(from, tmp);
    await this.fs.sync(tmp, false);
    await this.fs.rename(tmp, to);
  }
}

async function writeMarker(fs: FsLayer, dir: string): Promise<void> {
  const fh = await fs.open(join(dir, RUN_MARKER), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
  try {
    await fh.writeFile(`${JSON.stringify({ pid: process.pid })}\n`);
  } finally {
    await fh.close();
  }
}

async function isComplete(dir: string): Promise<boolean> {
  const status = await readStatusPlist(dir).catch(() => undefined);
  return isSnapshotFinished(status);
}

function noHardLinks(root: string, code: string, cause: unknown): IbackupError {
  return new IbackupError('HARD_LINKS_UNSUPPORTED', {
    message: `The disk holding ${root} cannot make hard links (${code}), so ibackup cannot keep the last complete backup safe during this backup without copying it.`,
    remedy:
      'Run the backup again with --allow-copy to keep a copy of each file the backup replaces or removes (it needs free space for them), or use a disk formatted as APFS, ext4 or NTFS.',
    cause,
    details: { path: root, errno: code },
  });
}
