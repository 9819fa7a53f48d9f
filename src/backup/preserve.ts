/**
 * Keeps the last complete backup of a device while a new run changes `<root>/<UDID>/`, and makes
 * it a version of the device's history when the run completes. Apple's staging moves new blobs
 * over old ones and removes deleted ones, so a run that dies half-way leaves neither the old
 * backup nor the new one.
 *
 * At a run's first change, a folder is made for the current backup's version at
 * `<root>/.ibackup/versions/<UDID>/<id>/` with a marker naming the running process, plus hard
 * links to the top-level files (Info.plist, Status.plist, the manifests). From then on, each file
 * is hard-linked into it just before the run replaces or removes it (no data copied; the links
 * are flushed before the change). A file absent from the version is unchanged in `<UDID>/`, so
 * the version and the unchanged files together are the last complete backup: an incremental
 * backup touches only what changed.
 *
 * However the run ends, the version is then completed from the unchanged files (more hard links:
 * version-fill.ts) — by the run itself, or, after a kill or a crash, by the next reader. When the
 * run completed, `<UDID>/` is the newest version and the completed folder the one before; when it
 * did not, the completed folder is the last complete backup. Where the disk cannot hold hard
 * links (exFAT, FAT), files are copied only with the user's consent, and the copy is dropped once
 * the new backup is complete: history needs hard links.
 */
import { randomBytes } from 'node:crypto';
import { basename, join, sep } from 'node:path';
import { IbackupError } from '../errors.js';
import { isSnapshotFinished, readStatusPlist } from './status.js';
import { lstatMaybe, nodeFs, parentDir, type FsLayer } from './fs-layer.js';
import { parallel } from '../parallel.js';
import { SNAPSHOT_DIR } from './folder.js';
import { LinkOrCopy } from './hard-links.js';
import { completeVersion, fillingRun, runEnded, writeRunMarker, type PlaceFile } from './version-fill.js';
import { currentVersionId, versionDir, versionFolderIds, versionsDir } from './versions.js';
import { adoptOldKeptCopy } from './old-kept-copy.js';

export { RUN_MARKER } from './version-fill.js';
/** The top-level files linked into the version as soon as it is made. */
const TOP_FILES = ['Info.plist', 'Status.plist', 'Manifest.plist', 'Manifest.db', 'Manifest.mbdb'];

export interface PreserveOptions {
  fs?: FsLayer;
  /** Copy the files when hard links are impossible (the user agreed to use the space). */
  allowCopy?: boolean;
}

/**
 * none: nothing complete to keep; kept: an earlier version is the last complete backup;
 * preserving: this run fills the current backup's version.
 */
export type PreserveState = 'none' | 'kept' | 'preserving' | 'released';

/** How a run's end left the history. */
export interface VersionOutcome {
  /** The id of the version made of the backup this run replaced, if one was made. */
  made?: string;
  /** History is off: the disk cannot make hard links (the files were copied, and are dropped). */
  historyOff?: boolean;
}

export class Preserver {
  private readonly fs: FsLayer;
  private readonly dir: string;
  private readonly linker: Linker;
  private dest = '';
  private id: string | undefined;
  /** This run's token in the version's marker. */
  private run: string | undefined;
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
    this.linker = new Linker(this.fs, root, opts.allowCopy === true);
  }

  /** What happened so far. */
  get status(): PreserveState | 'idle' {
    return this.state;
  }

  /**
   * Called before every change in `<UDID>/`. The first call sets the version up (once; concurrent
   * callers wait for the same work). When `loses` is true, what is at `local` now (a file, or a
   * whole folder) is about to be replaced or removed and is preserved first; a new folder loses
   * nothing. Throws a plain-words error when it cannot keep the backup safe. Once set up, a change
   * with nothing to preserve gets nothing back (no promise per change).
   */
  beforeChange(local: string, loses = true): Promise<void> | undefined {
    if (this.state === 'idle') {
      this.started ??= this.start();
      return this.started.then(() => (this.state === 'idle' ? undefined : this.beforeChange(local, loses)));
    }
    if (this.state !== 'preserving' || !loses) return undefined;
    return this.preserve(local);
  }

  private async start(): Promise<void> {
    await adoptOldKeptCopy(this.root, this.udid, completingPlacer(this.fs, this.root), this.fs);
    const settled = await settleVersions(this.root, this.udid, this.fs);
    if (!(await isComplete(this.dir))) {
      // An interrupted run left `<UDID>/` half-done: the newest complete version is the last
      // complete backup and stays as it is until this run completes.
      this.state = settled.complete > 0 ? 'kept' : 'none';
      return;
    }
    // A version completed beside a complete backup: the run that completed that backup died
    // before its end. Make that backup durable before anything else happens.
    if (settled.completedNow) await this.fs.syncFileSystem?.(this.root);
    this.id = await currentVersionId(this.root, this.udid, new Set(settled.ids), this.fs);
    this.dest = versionDir(this.root, this.udid, this.id);
    await this.makeVersionFolder();
    this.state = 'preserving';
  }

  /** The version's folder with the marker and the top-level files, flushed, under its name. */
  private async makeVersionFolder(): Promise<void> {
    const partial = `${this.dest}.partial`;
    await this.fs.rm(partial, { recursive: true, force: true });
    await this.fs.mkdir(partial, { recursive: true, mode: 0o755 });
    this.run = await writeRunMarker(this.fs, partial);
    for (const name of TOP_FILES) {
      this.handled.set(join(this.dir, name), Promise.resolve());
      await this.linker.linkOrCopy(join(this.dir, name), join(partial, name));
    }
    // The version must be on disk before the device starts replacing the originals.
    await this.fs.sync(partial, true);
    await this.fs.rename(partial, this.dest);
    await this.fs.sync(versionsDir(this.root, this.udid), true);
  }

  /** Links what is at `local` (a file or a whole folder) into the version, then flushes the links. */
  private preserve(local: string): Promise<void> | undefined {
    if (!this.covers(local)) return undefined;
    const rel = local.slice(this.dir.length + 1);
    if (rel === SNAPSHOT_DIR || rel.startsWith(SNAPSHOT_DIR + sep) || local.includes('.tmp-')) return undefined; // staging: not part of the backup
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
      await parallel(names, 16, async (name) => this.preserve(join(local, name)));
      return;
    }
    if (!st.isFile()) return;
    const to = rel === '' ? this.dest : join(this.dest, rel);
    await this.linker.ensureDir(parentDir(to), this.dest);
    await this.linker.linkOrCopy(local, to);
    await this.linker.flushDir(parentDir(to));
  }

  /**
   * The new backup is complete and flushed: the version of the backup it replaced is completed
   * (the files this run added left out) and counts from now on. Where files had to be copied,
   * history is off and the copy goes.
   */
  async finish(): Promise<VersionOutcome> {
    if (this.started) await this.started.catch(() => undefined);
    this.fs.event?.('released');
    try {
      if (this.state !== 'preserving' || this.id === undefined) return {};
      if (this.linker.copied) {
        await this.fs.rm(this.dest, { recursive: true, force: true });
        return { historyOff: true };
      }
      await this.complete();
      return { made: this.id };
    } finally {
      this.state = 'released';
      runEnded(this.run);
    }
  }

  /**
   * The run ends without completing: the version this run was filling becomes a complete backup
   * folder of its own, so that it is the last complete backup for every reader.
   */
  async abandon(): Promise<void> {
    if (!this.started) return;
    await this.started.catch(() => undefined);
    if (this.state !== 'preserving') return runEnded(this.run);
    try {
      await this.complete();
      this.state = 'kept';
    } finally {
      runEnded(this.run);
    }
  }

  private async complete(): Promise<void> {
    const handled = new Set(this.handled.keys());
    await completeVersion(this.dest, this.dir, (from, to) => this.linker.linkOrCopy(from, to), {
      fs: this.fs,
      handled,
      ...(this.id === undefined ? {} : { scanTo: { root: this.root, udid: this.udid, id: this.id } }),
    });
  }

  /** True when `path` (a local path) is inside the device's folder. */
  covers(path: string): boolean {
    return path === this.dir || path.startsWith(this.dir + sep);
  }
}

/**
 * How a version left by an ended run is completed: hard links, else copies (written whole and
 * flushed before they take their name). Copies are allowed: a version being filled on a disk
 * without hard links exists only because the user agreed to copies when that run started.
 */
export function completingPlacer(fs: FsLayer, root: string): PlaceFile {
  const linker = new Linker(fs, root, true);
  return (from, to) => linker.linkOrCopy(from, to);
}

/**
 * Completes every version of a device whose filling run has ended (see version-fill.ts).
 * Resolves the ids of the versions there, how many are complete, and whether one was completed now.
 */
export async function settleVersions(
  root: string,
  udid: string,
  fs: FsLayer = nodeFs,
): Promise<{ ids: string[]; complete: number; completedNow: boolean; busy: string[] }> {
  const ids = await versionFolderIds(root, udid);
  let completedNow = false;
  const busy: string[] = [];
  for (const id of ids) {
    const dir = versionDir(root, udid, id);
    const run = fillingRun(dir);
    if (run === undefined) continue;
    if (run.running) {
      busy.push(id);
      continue;
    }
    await completeVersion(dir, join(root, udid), completingPlacer(fs, root), { fs, scanTo: { root, udid, id } });
    completedNow = true;
  }
  return { ids, complete: ids.length - busy.length, completedNow, busy };
}

/**
 * Makes a version whole when the run that filled it has ended. Resolves true when a running
 * backup still fills it: it cannot be opened, deleted or archived until then.
 */
export async function settleKeptCopy(dir: string): Promise<boolean> {
  const run = fillingRun(dir);
  if (run?.running === true) return true;
  if (run === undefined) return false;
  // `<root>/.ibackup/versions/<UDID>/<id>` is a version of `<root>/<UDID>`.
  const udid = basename(parentDir(dir));
  const root = join(dir, '..', '..', '..', '..');
  await settleVersions(root, udid);
  return false;
}

/** Hard links (or, with consent, copies) files into a preserved copy; flushes folders in groups. */
class Linker {
  private readonly links: LinkOrCopy;
  /** Whether any file had to be copied (no hard links on this disk). */
  copied = false;
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
      copy: (from, to) => {
        this.copied = true;
        return this.copyWhole(from, to);
      },
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

  /** One file into the copy; a file already there stays (it was preserved before a change). Undefined when done at once. */
  linkOrCopy(from: string, to: string): Promise<void> | undefined {
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
