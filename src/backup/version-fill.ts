/**
 * Making a version whole. A run keeps the last complete backup by hard-linking each file into
 * `.ibackup/versions/<UDID>/<id>/` just before it replaces or removes it (preserve.ts); the files
 * the run did not touch are still the same in `<UDID>/`. Completing the version links those in,
 * flushes, and removes the run's marker: the version is then a complete backup folder of its own.
 *
 * The run that made the copy completes it when it ends (it knows which files it touched: it links
 * every other one in, and nothing more); a later reader completes the copy of a run that died
 * (then files that run added may be linked in too: blobs that version's Manifest does not name,
 * harmless to readers). Either way the same walk also scans the version for its space figures.
 */
import { randomBytes } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { Stats } from 'node:fs';
import { lstatMaybe, lstatNow, nodeFs, parentDir, processRuns, type FsLayer } from './fs-layer.js';
import { parallel } from '../parallel.js';
import { SNAPSHOT_DIR } from './folder.js';
import { Scan, saveScan } from './version-scan.js';

/** In a version still being filled by a run: that run's process id (JSON). */
export const RUN_MARKER = '.ibackup-run';

/**
 * Places one file of `<UDID>/` into the version (a hard link, or a copy where links cannot be
 * made). Undefined when it was done at once: nothing to wait for.
 */
export type PlaceFile = (from: string, to: string) => Promise<void> | undefined;

export interface FillOptions {
  fs?: FsLayer;
  /** Files of `<UDID>/` the filling run replaced, removed or added: never linked in. */
  handled?: ReadonlySet<string>;
  /** Where root and UDID are known: the scan is saved for the history's space figures. */
  scanTo?: { root: string; udid: string; id: string };
}

/**
 * The runs of this process that are filling a version now. A long-lived process (the web app, the
 * watch service) outlives its runs: a run that ended without completing its version (its disk
 * failed) must not look alive because its process is.
 */
const liveRuns = new Set<string>();

/** Whether the version at `dir` is still being filled, and by which process. */
export function fillingRun(dir: string): { pid: number; running: boolean } | undefined {
  let marker: { pid?: unknown; run?: unknown };
  try {
    marker = JSON.parse(readFileSync(join(dir, RUN_MARKER), 'utf8')) as { pid?: unknown; run?: unknown };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    marker = {}; // unreadable: treated as a run that died
  }
  const pid = Number(marker.pid);
  const alive = Number.isInteger(pid) && pid > 0 && processRuns(pid);
  const ours = pid === process.pid;
  return { pid, running: alive && (!ours || liveRuns.has(String(marker.run))) };
}

/** Marks `dir` as filled by a run of this process; returns the run's token (see `runEnded`). */
export async function writeRunMarker(fs: FsLayer, dir: string): Promise<string> {
  const run = randomBytes(8).toString('hex');
  liveRuns.add(run);
  const fh = await fs.open(join(dir, RUN_MARKER), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
  try {
    await fh.writeFile(`${JSON.stringify({ pid: process.pid, run })}\n`);
  } finally {
    await fh.close();
  }
  return run;
}

/** The run is over, however it ended: the version it filled is no longer its own. */
export function runEnded(run: string | undefined): void {
  if (run !== undefined) liveRuns.delete(run);
}

/**
 * Completes the version at `dest` from the unchanged files of `current` (see the module comment),
 * then flushes it and removes the marker. Nothing when it is complete already; safe to repeat.
 */
export async function completeVersion(dest: string, current: string, place: PlaceFile, opts: FillOptions = {}) {
  const fs = opts.fs ?? nodeFs;
  if ((await lstatMaybe(fs, join(dest, RUN_MARKER))) === undefined) return;
  const filler = new Filler(fs, place, opts.handled);
  await filler.fill(normalize(current), normalize(dest), true);
  // One flush of the file system where it can (Linux syncfs), else each folder of the version.
  const flushed = (await fs.syncFileSystem?.(dest).catch(() => false)) === true;
  if (!flushed) await parallel([...filler.dirs], 32, (d) => fs.sync(d, true));
  if (opts.scanTo !== undefined) {
    const { root, udid, id } = opts.scanTo;
    await saveScan(root, udid, id, filler.scan, fs).catch(() => undefined);
  }
  await fs.rm(join(dest, RUN_MARKER), { force: true });
  await fs.sync(dest, true);
}

/** Whether a name of `<UDID>/` is never part of a version: staging, the marker, temporary files. */
function leftOut(name: string, top: boolean): boolean {
  return (top && (name === SNAPSHOT_DIR || name === RUN_MARKER)) || name.includes('.tmp-');
}

/**
 * A listed entry's path: its folder's path (already in normal form) and its name (one part, as
 * the listing gave it) — what `join` gives, without normalizing the whole path once per file.
 */
function inside(dir: string, name: string): string {
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}

type Kind = 'file' | 'dir' | 'other';

/** What a listing's entry or a look says an item is. */
function kindOf(x: { isFile(): boolean; isDirectory(): boolean }): Kind {
  return x.isFile() ? 'file' : x.isDirectory() ? 'dir' : 'other';
}

/** A folder's entries and whether each is a file, a folder or something else (nothing if it is gone). */
async function kindsOf(fs: FsLayer, dir: string): Promise<[string, Kind][]> {
  if (fs.readdirKinds !== undefined) {
    const entries = await fs.readdirKinds(dir).catch(() => []);
    return entries.map((e) => [e.name, kindOf(e)]);
  }
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: [string, Kind][] = [];
  for (const name of names) {
    const st = await lstatMaybe(fs, inside(dir, name));
    if (st !== undefined) out.push([name, kindOf(st)]);
  }
  return out;
}

/** No names: a folder where the filling run touched nothing. */
const NONE: ReadonlySet<string> = new Set();

/** The names of `paths` by the folder holding them. */
function namesByFolder(paths: ReadonlySet<string>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of paths) {
    const dir = parentDir(p);
    let names = out.get(dir);
    if (names === undefined) out.set(dir, (names = new Set()));
    names.add(p.slice(dir.length + (dir.endsWith(sep) ? 0 : 1)));
  }
  return out;
}

/**
 * One walk over `<UDID>/` and the version together: links what is missing, and scans the version
 * (its space figures, kept) with one look per file. The folder listing gives each entry's kind.
 *
 * The filling run knows what it touched: every other file of a folder is linked in without a look
 * in the version first, one after another with no promise in between where the file system
 * answers at once (200 000 files at the `big` size: the promise and lookups per file cost half as
 * much again as the links). What the version holds beyond `<UDID>/` is then among the touched
 * names. A later reader knows nothing of the run: it looks at each file in the version first, and
 * lists the version's folders for what `<UDID>/` no longer has.
 */
class Filler {
  readonly scan = new Scan();
  readonly dirs = new Set<string>();
  /** The filling run's touched paths, by folder; undefined for a later reader. */
  private readonly touched: ReadonlyMap<string, ReadonlySet<string>> | undefined;

  constructor(
    private readonly fs: FsLayer,
    private readonly place: PlaceFile,
    handled: ReadonlySet<string> | undefined,
  ) {
    this.touched = handled === undefined ? undefined : namesByFolder(handled);
  }

  async fill(from: string, to: string, top: boolean): Promise<void> {
    this.dirs.add(to);
    const folders: string[] = [];
    // The names the filling run touched here (keyed as namesByFolder keys them: the folder of a
    // name inside, a trailing separator dropped); undefined for a later reader.
    const touched = this.touched && (this.touched.get(parentDir(inside(from, '-'))) ?? NONE);
    // Names seen in `<UDID>/`: every one for a later reader, the touched ones for the filling run.
    const seen = new Set<string>();
    for (const [name, kind] of await kindsOf(this.fs, from)) {
      if (kind === 'other' || leftOut(name, top)) continue;
      if (kind === 'dir') {
        seen.add(name);
        folders.push(name);
      } else if (touched !== undefined && !touched.has(name)) {
        const linking = this.linkUntouched(inside(from, name), inside(to, name), top);
        if (linking !== undefined) await linking;
      } else {
        seen.add(name);
        await this.fillFile(inside(from, name), inside(to, name), top);
      }
    }
    // Folders four at a time: each one's listing and making wait on the thread pool, which the
    // others' links meanwhile hide.
    await parallel(folders, 4, async (name) => {
      const dest = inside(to, name);
      await this.fs.mkdir(dest, { recursive: true, mode: 0o755 });
      await this.fill(inside(from, name), dest, false);
    });
    await this.onlyInVersion(to, touched, seen, top);
    // Its size once filled: a folder grows with its entries.
    this.scan.add(await this.fs.lstat(to));
  }

  /** A file the filling run did not touch: not in the version yet. Undefined when done at once. */
  private linkUntouched(from: string, to: string, top: boolean): Promise<void> | undefined {
    const placing = this.place(from, to);
    if (placing !== undefined) return placing.then(() => this.look(to, top));
    return this.look(to, top);
  }

  /** The scan's look at a placed file: a link has its source's inode and size. */
  private look(to: string, top: boolean): Promise<void> | undefined {
    const st = lstatNow(this.fs, to);
    if (st instanceof Promise) return st.then((s) => this.count(s, top));
    this.count(st, top);
    return undefined;
  }

  /** A file the filling run touched, or any file for a later reader: looked at in the version first. */
  private async fillFile(from: string, to: string, top: boolean): Promise<void> {
    const there = await lstatMaybe(this.fs, to);
    // A file there was preserved before its change; one the filling run touched and did not
    // keep, it added.
    if (there !== undefined || this.touched !== undefined) return this.count(there, top);
    await this.place(from, to);
    this.count(await lstatMaybe(this.fs, to), top);
  }

  private count(st: Stats | undefined, top: boolean): void {
    if (st === undefined) return;
    this.scan.add(st);
    if (!top && st.isFile()) this.scan.files++;
  }

  /**
   * Entries the run removed from `<UDID>/` after preserving them: in the version only. For the
   * filling run they are among the names it touched; a later reader lists the version's folder.
   */
  private async onlyInVersion(
    dir: string,
    touched: ReadonlySet<string> | undefined,
    seen: ReadonlySet<string>,
    top: boolean,
  ): Promise<void> {
    const names = touched ?? (await this.fs.readdir(dir).catch(() => [] as string[]));
    for (const name of names) {
      if (seen.has(name) || (top && name === RUN_MARKER)) continue;
      const p = inside(dir, name);
      const st = await lstatMaybe(this.fs, p);
      // A folder removed whole: only scanned.
      if (st?.isDirectory()) await this.scanOnly(p);
      else this.count(st, top);
    }
  }

  /** A folder of the version that `<UDID>/` no longer has: its entries are counted, nothing linked. */
  private async scanOnly(dir: string): Promise<void> {
    this.dirs.add(dir);
    for (const [name, kind] of await kindsOf(this.fs, dir)) {
      if (kind === 'other') continue;
      const p = inside(dir, name);
      if (kind === 'dir') await this.scanOnly(p);
      else this.count(await lstatMaybe(this.fs, p), false);
    }
    this.scan.add(await this.fs.lstat(dir));
  }
}
