/**
 * The file-system calls a backup run makes, behind one interface so tests can inject faults
 * (EPERM on link, ENOSPC on write) and record what was written and what was flushed.
 */
import { execFile } from 'node:child_process';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  linkSync,
  lstatSync,
  openSync,
  renameSync,
  rmSync,
  unlinkSync,
  writevSync,
} from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rm, statfs, type FileHandle } from 'node:fs/promises';
import type { Dirent, Stats, StatsFs } from 'node:fs';
import { sep } from 'node:path';

export interface FsLayer {
  open(path: string, flags: number, mode?: number): Promise<FileHandle>;
  rename(from: string, to: string): Promise<void>;
  mkdir(path: string, opts: { recursive: boolean; mode?: number }): Promise<string | undefined>;
  rm(path: string, opts: { recursive?: boolean; force?: boolean }): Promise<void>;
  lstat(path: string): Promise<Stats>;
  /**
   * Like lstat, but a missing item gives undefined instead of an error (building an error for
   * every file not there yet costs more than the system call). The answer may come at once (no
   * promise to wait for) or later. Optional: lstat is used instead.
   */
  lstatIfExists?(path: string): Stats | undefined | Promise<Stats | undefined>;
  readdir(path: string): Promise<string[]>;
  /**
   * A folder's entries with their kinds, from the folder itself where the file system gives them
   * (no lookup per entry). Optional: readdir and lstat are used instead.
   */
  readdirKinds?(path: string): Promise<Dirent[]>;
  copyFile(from: string, to: string): Promise<void>;
  /** Hard-links `existing` to `newPath`: done at once (nothing returned, errors thrown) or later. */
  link(existing: string, newPath: string): void | Promise<void>;
  statfs(path: string): Promise<StatsFs>;
  /**
   * The unit of statfs's block counts (f_frsize) where it can differ from `bsize`; undefined
   * where it cannot be known (then `bsize` is the unit). Optional.
   */
  fragmentSize?(path: string): Promise<number | undefined>;
  /** Flushes a file's or a folder's data and metadata to the disk (fsync). */
  sync(path: string, dir: boolean): Promise<void>;
  /**
   * Flushes everything written to the file system holding `path` (Linux syncfs). Resolves false
   * where that is not available, and the caller fsyncs each file and folder instead.
   */
  syncFileSystem?(path: string): Promise<boolean>;
  /**
   * Creates `path` for writing (never through a link) and resolves its descriptor (a promise, so
   * that a layer may make it off the main thread). A temporary name is truncated if it is there;
   * with `unfinished`, the file is a new one under its final name, marked unfinished until
   * `markFinished` (see UNFINISHED_MODE), and what had the name loses it (its bytes stay with any
   * other name the inode has).
   */
  createFile(path: string, unfinished?: boolean): Promise<number>;
  /**
   * Finishes a file made by `createFile`, at once: writes `parts`, closes it and renames `tmp` to
   * `dest` (for the many small files of a backup, queued calls with their thread hand-offs and
   * promises would cost more than the work); when `tmp` is `dest` (made `unfinished`), marks it
   * finished instead of renaming it. On failure `tmp` is removed and the error thrown.
   */
  finishSmallFile(fd: number, tmp: string, parts: readonly Uint8Array[], dest: string): void;
  /** Marks a file made `unfinished` as finished (before it is closed). */
  markFinished(fd: number): void;
  /**
   * Whether a file made `unfinished` in `dir` shows it: the file system keeps POSIX modes (FAT and
   * exFAT give every file the same mode). Optional: false, and temporary names are used.
   */
  marksUnfinished?(dir: string): Promise<boolean>;
  /** A milestone of the run ("flush-start", "complete", "released"), for recorders; optional. */
  event?(name: string): void;
}

/** The real file system. */
export const nodeFs: FsLayer = {
  open: (p, flags, mode) => open(p, flags, mode),
  // Metadata the kernel changes at once, like the renames of finishSmallFile: done on the main
  // thread rather than queued (a queued call costs two thread hand-offs and a promise's round
  // trip, for each of the 200 000 moves of a big backup; measured: half the futex calls).
  rename: async (a, b) => renameSync(a, b),
  mkdir: (p, o) => mkdir(p, o),
  rm: (p, o) => rm(p, o),
  lstat: (p) => lstat(p),
  // A metadata lookup the kernel answers from its caches: done at once rather than queued.
  lstatIfExists: (p) => lstatSync(p, { throwIfNoEntry: false }),
  readdir: (p) => readdir(p),
  readdirKinds: (p) => readdir(p, { withFileTypes: true }),
  copyFile: (a, b) => copyFile(a, b),
  // Like rename: a version links every file a run replaces, and completing it every file the run
  // did not touch (200 000 links at the `big` size).
  link: (a, b) => linkSync(a, b),
  statfs: (p) => statfs(p),
  fragmentSize,
  sync: fsyncPath,
  syncFileSystem,
  createFile,
  finishSmallFile,
  markFinished: (fd) => fchmodSync(fd, FINISHED_MODE),
  marksUnfinished,
};

/**
 * Linux counts free blocks in fragments (f_frsize), which Node's statfs does not report and which
 * differ from f_bsize on some network and FUSE file systems; `stat -f` reports it (%S). macOS and
 * Windows report the counting unit as bsize already. libimobiledevice multiplies by f_frsize too
 * (its commit 1b09adc).
 */
function fragmentSize(path: string): Promise<number | undefined> {
  if (process.platform !== 'linux') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile('stat', ['-f', '-c', '%S', path], { timeout: 5000 }, (err, stdout) => {
      const n = err ? NaN : Number(String(stdout).trim());
      resolve(Number.isSafeInteger(n) && n > 0 ? n : undefined);
    });
  });
}

/** What is left of `parts` after a write took their first `written` bytes (files may take fewer, if rarely). */
export function unwritten(parts: readonly Uint8Array[], written: number): Uint8Array[] {
  const next: Uint8Array[] = [];
  for (const p of parts) {
    if (written >= p.length) written -= p.length;
    else {
      next.push(written === 0 ? p : p.subarray(written));
      written = 0;
    }
  }
  return next;
}

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_NOFOLLOW ?? 0);
const NEW_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * A file written under its final name is created with no read permission until it is complete:
 * a run killed while writing it leaves a file that says so (see isUnfinished), where a temporary
 * name would have said it. Used for the uploads the device stages in `Snapshot/`, which are part
 * of no backup until the device moves them, saving the rename of each one (POSIX file modes only).
 */
const UNFINISHED_MODE = 0o200;
/** What a file created with mode 0644 gets under this process's umask (read once). */
const FINISHED_MODE = 0o644 & ~process.umask();

/** True for a file made `unfinished` and never marked finished (a killed run's). */
export function isUnfinished(st: Stats): boolean {
  return st.isFile() && (st.mode & 0o400) === 0;
}

/** True where files can be marked unfinished by their mode (not Windows). */
export const MARKS_UNFINISHED_FILES = process.platform !== 'win32';

/**
 * Makes a file marked unfinished in `dir` and looks at the mode it got, then removes it (at once:
 * nothing sees it; a killed run leaves it under a temporary name, removed by the next run).
 */
function marksUnfinished(dir: string): Promise<boolean> {
  if (!MARKS_UNFINISHED_FILES) return Promise.resolve(false);
  const probe = `${dir}${sep}.ibackup-mode-probe.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(probe, CREATE_FLAGS, UNFINISHED_MODE);
  } catch {
    return Promise.resolve(false);
  }
  try {
    return Promise.resolve(isUnfinished(fstatSync(fd)));
  } finally {
    closeSync(fd);
    rmSync(probe, { force: true });
  }
}

/**
 * Made on the main thread, like the small files' writes and renames: the thread pool's hand-offs
 * (a wake-up of a pool thread, then of the main thread, per file) cost more than the call on two
 * busy cores (measured on a 5 000-file backup: half the context switches, 14 600 instead of
 * 22 700, and a little less CPU time).
 */
function createFile(path: string, unfinished = false): Promise<number> {
  try {
    return Promise.resolve(unfinished ? openUnfinished(path) : openSync(path, CREATE_FLAGS, 0o644));
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/** A new file under its final name, marked unfinished; what had the name only loses the name. */
function openUnfinished(path: string): number {
  try {
    return openSync(path, NEW_FILE_FLAGS, UNFINISHED_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    unlinkSync(path);
    return openSync(path, NEW_FILE_FLAGS, UNFINISHED_MODE);
  }
}

function finishSmallFile(fd: number, tmp: string, parts: readonly Uint8Array[], dest: string): void {
  let open = true;
  try {
    let rest = parts.filter((p) => p.length > 0);
    while (rest.length > 0) rest = unwritten(rest, writevSync(fd, rest as Uint8Array[]));
    if (tmp === dest) fchmodSync(fd, FINISHED_MODE);
    open = false;
    closeSync(fd);
    if (tmp !== dest) renameSync(tmp, dest);
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * syncfs(2) through coreutils' `sync --file-system` (Linux; one system call for the whole disk).
 * Node has no binding for it. Elsewhere, or when the command is missing, resolves false.
 */
function syncFileSystem(path: string): Promise<boolean> {
  if (process.platform !== 'linux') return Promise.resolve(false);
  return new Promise((done) => {
    execFile('sync', ['--file-system', '--', path], { timeout: 10 * 60_000 }, (err) => done(err === null));
  });
}

/**
 * fsync of one file or folder. A path that vanished is fine; folders that cannot be opened or
 * synced on this platform (Windows, some network file systems) are skipped.
 */
async function fsyncPath(p: string, dir: boolean): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(p, dir ? constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) : constants.O_RDONLY);
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw err;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** True when a process with this id runs (ours included); used to tell a live run's files from a dead run's. */
export function processRuns(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What is at `p` (no link followed), or undefined when nothing is. */
export async function lstatMaybe(fs: FsLayer, p: string): Promise<Stats | undefined> {
  return lstatNow(fs, p);
}

/** Like lstatMaybe, but an answer the layer has at once comes without a promise (for loops over every file). */
export function lstatNow(fs: FsLayer, p: string): Stats | undefined | Promise<Stats | undefined> {
  return fs.lstatIfExists ? fs.lstatIfExists(p) : fs.lstat(p).catch(() => undefined);
}

/** The folder holding `p` (a local path). */
export function parentDir(p: string): string {
  const i = p.lastIndexOf(sep);
  return i <= 0 ? sep : p.slice(0, i);
}
