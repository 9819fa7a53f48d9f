/**
 * The store's batched durability: which files and folders this run changed and must be flushed
 * before the backup is declared complete, and the early flushes started in the background while
 * data arrives, so the disk writes it meanwhile instead of all of it after the last file. Never a
 * per-file fsync on the hot path.
 */
import { sep } from 'node:path';
import { parallel } from '../parallel.js';
import { parentDir, type FsLayer } from './fs-layer.js';

const EARLY_FLUSH_BYTES = 256 * 1024 * 1024;
const EARLY_FLUSH_FILES = 32 * 1024;

export interface FlushOptions {
  /** Bytes written between two flushes started in the background (default 256 MiB). */
  earlyFlushBytes?: number;
  /** Files written between two flushes started in the background (default 32 768). */
  earlyFlushFiles?: number;
}

export class StoreFlush {
  /**
   * Files written or moved into place in this run and not yet covered by a flush of the disk that
   * succeeded: what the final flush must fsync one by one where syncfs fails. Emptied by each
   * early flush that succeeds, so a backup of any size keeps at most a batch of names.
   */
  private dirty = new Set<string>();
  /** Folders whose entries changed in this run (a few hundred in a backup): fsynced where syncfs fails. */
  private readonly dirtyDirs = new Set<string>();
  /** Bytes written since the last early flush began, and that flush while it runs. */
  private sinceEarlyFlush = 0;
  private earlyFlush: Promise<unknown> | undefined;
  /** The names an early flush running now covers (see `moved`). */
  private flushingBatch: Set<string> | undefined;
  /** Cleared when a flush of the disk fails: no more early flushes in this run. */
  private earlyFlushWorks = true;
  private readonly earlyFlushBytes: number;
  private readonly earlyFlushFiles: number;

  constructor(
    private readonly fs: FsLayer,
    private readonly root: string,
    opts: FlushOptions = {},
  ) {
    this.earlyFlushBytes = opts.earlyFlushBytes ?? EARLY_FLUSH_BYTES;
    this.earlyFlushFiles = opts.earlyFlushFiles ?? EARLY_FLUSH_FILES;
  }

  /** A file of `bytes` was written and renamed into place at `path`. */
  fileWritten(path: string, bytes: number): void {
    this.dirty.add(path);
    this.dirtyDirs.add(parentDir(path));
    this.written(bytes);
  }

  /** A file was put in place at `path` (its folder is told apart). */
  fileChanged(path: string): void {
    this.dirty.add(path);
  }

  /** The entries of a folder changed. */
  folderChanged(dir: string): void {
    this.dirtyDirs.add(dir);
  }

  /** The item at `path` was removed: nothing of it is left to flush but its folder. */
  removed(path: string): void {
    this.dirty.delete(path);
    this.dirtyDirs.add(parentDir(path));
  }

  /**
   * Keeps the names to flush true after a rename: what was written and not yet flushed under `a`
   * is now under `b` (a file's data moves with it: flushing b flushes it). Something flushed
   * already, or not written by this run, needs only its two folders flushed.
   */
  moved(a: string, b: string, dir: boolean): void {
    const pending = (p: string): boolean => this.dirty.delete(p) || this.flushingBatch?.delete(p) === true;
    if (pending(a)) this.dirty.add(b);
    if (dir) {
      const inside = a + sep;
      for (const p of [...this.dirty, ...(this.flushingBatch ?? [])]) {
        if (p.startsWith(inside) && pending(p)) this.dirty.add(b + p.slice(a.length));
      }
    }
    this.dirtyDirs.add(parentDir(a));
    this.dirtyDirs.add(parentDir(b));
  }

  /**
   * Counts what was written; every `earlyFlushBytes` or `earlyFlushFiles`, starts a flush of the
   * disk in the background (one at a time). Files committed before it began are then flushed
   * and their names forgotten; if it fails they are kept for the final flush, and no early flush
   * is tried again. `flush` still flushes everything before completion.
   */
  private written(bytes: number): void {
    this.sinceEarlyFlush += bytes;
    if (this.earlyFlush !== undefined || !this.earlyFlushWorks || !this.fs.syncFileSystem) return;
    if (this.sinceEarlyFlush < this.earlyFlushBytes && this.dirty.size < this.earlyFlushFiles) return;
    this.sinceEarlyFlush = 0;
    const batch = this.dirty;
    this.dirty = new Set();
    this.flushingBatch = batch;
    this.earlyFlush = this.fs
      .syncFileSystem(this.root)
      .catch(() => false)
      .then((ok) => {
        if (ok) return;
        this.earlyFlushWorks = false;
        for (const p of batch) this.dirty.add(p);
      })
      .finally(() => {
        this.earlyFlush = undefined;
        this.flushingBatch = undefined;
      });
  }

  /** Flushes every file and folder written in this run (parallel fsyncs), then forgets them. */
  async flush(concurrency = 32): Promise<void> {
    await this.earlyFlush;
    const files = [...this.dirty];
    const dirs = [...this.dirtyDirs];
    this.dirty.clear();
    this.dirtyDirs.clear();
    this.fs.event?.('flush-start');
    // One syncfs for the whole disk where the platform has it (far cheaper than N fsyncs).
    if (files.length + dirs.length > 0 && !(await this.fs.syncFileSystem?.(this.root))) {
      await parallel(files, concurrency, (p) => this.fs.sync(p, false));
      await parallel(dirs, concurrency, (p) => this.fs.sync(p, true));
    }
    this.fs.event?.('flushed');
  }
}
