/**
 * The backup store: the file operations a device's DeviceLink requests need, on the backup
 * folder. A façade over three parts: StorePaths (the one place a device path becomes a local
 * path: containment, no links), StoreFlush (batched durability: files are written to a temporary
 * name and renamed; everything written is flushed once, before the backup is declared complete)
 * and StoreSizes (what the size ledger is told).
 */
import { constants, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { lstatMaybe, nodeFs, parentDir, type FsLayer } from './fs-layer.js';
import { StoreFileWriter } from './store-file-writer.js';
import type { SizeTracker } from './size-ledger.js';
import { StoreFlush, type FlushOptions } from './store-flush.js';
import { freeBytes, listFolder, type StoreEntry } from './store-listing.js';
import { StorePaths } from './store-paths.js';
import { readFileChunks } from './store-read.js';
import { StoreSizes } from './store-sizes.js';

export type { StoreEntry } from './store-listing.js';
export { UnsafePathError } from './store-paths.js';

export interface StoreOptions extends FlushOptions {
  /** The file system (tests inject faults and record flushes). */
  fs?: FsLayer;
  /**
   * Called before anything in the device's folder is created, replaced or removed; `loses` is
   * false when nothing there now goes away (a new folder).
   */
  beforeChange?: (localPath: string, loses: boolean) => Promise<void> | undefined;
  /** Told how each change alters the size of the device's folder. */
  sizes?: SizeTracker;
}

export class BackupStore {
  readonly fs: FsLayer;
  private readonly paths: StorePaths;
  private readonly flushing: StoreFlush;
  private readonly sizes: StoreSizes;
  private readonly beforeChange: (localPath: string, loses: boolean) => Promise<void> | undefined;
  /** Whether staged uploads are written under their final names (undefined: not probed yet). */
  private marks: boolean | undefined;

  constructor(
    readonly root: string,
    readonly udid: string,
    opts: StoreOptions = {},
  ) {
    this.fs = opts.fs ?? nodeFs;
    this.beforeChange = opts.beforeChange ?? (() => undefined);
    this.paths = new StorePaths(root, udid, this.fs);
    this.flushing = new StoreFlush(this.fs, root, opts);
    this.sizes = new StoreSizes(this.fs, this.paths, opts.sizes);
  }

  /** The device's folder for this backup. */
  get deviceDir(): string {
    return this.paths.deviceDir;
  }

  /** Checks a device path and returns the local path (no file-system access). */
  resolve(devicePath: string): string {
    return this.paths.resolve(devicePath);
  }

  /** Like resolve, and also refuses any symbolic link on the way (nothing is followed). */
  async resolveNoLinks(devicePath: string): Promise<string> {
    return (await this.paths.check(devicePath)).local;
  }

  /** Makes the folder a file goes into, unless it is known to be there already. */
  private async parentReady(file: string): Promise<void> {
    const dir = parentDir(file);
    if (this.paths.isChecked(dir)) return;
    this.madeFolders(dir, await this.fs.mkdir(dir, { recursive: true }));
  }

  /** Notes the folders a recursive mkdir of `dir` made (`first`, the first it made, down to `dir`). */
  private madeFolders(dir: string, first: string | undefined): void {
    if (first === undefined) return;
    for (let d = dir; d.length >= first.length && d !== parentDir(d); d = parentDir(d)) this.paths.made(d);
  }

  /**
   * Lets the owner act (keep the last complete backup) before the device's folder changes;
   * nothing comes back when it has nothing to do.
   */
  private changing(local: string, loses = true): Promise<void> | undefined {
    return this.paths.inDevice(local) ? this.beforeChange(local, loses) : undefined;
  }

  /** Whether the disk shows a file marked unfinished (see fs-layer.ts), once per run. */
  private async probeMarks(dir: string): Promise<boolean> {
    this.marks = (await this.fs.marksUnfinished?.(dir)) === true;
    return this.marks;
  }

  /** Starts writing a file (to a temporary name until `commit`). */
  async createFile(devicePath: string): Promise<StoreFileWriter> {
    const { local, stat } = await this.paths.check(devicePath, true);
    const changing = this.changing(local);
    if (changing !== undefined) await changing;
    const replaced = this.sizes.known ? await this.sizes.ofReplaced(local, stat) : 0; // no extra await on a full backup's hot path
    // An upload staged in Snapshot/ (part of no backup until the device moves it) is written under
    // its final name, marked unfinished until it is complete: one rename fewer per file — where
    // the file system can show the mark.
    const staged = this.paths.isStaging(local) && (this.marks ?? (await this.probeMarks(parentDir(local))));
    const tmp = staged ? local : `${local}.tmp-${process.pid}`;
    return new StoreFileWriter(this.fs, this.fs.createFile(tmp, staged), tmp, local, (p, bytes) => {
      this.flushing.fileWritten(p, bytes);
      this.sizes.written(p, bytes, replaced);
    });
  }

  /**
   * Opens a file for reading (a download the device asked for), with its size when the path
   * check saw it (a hint for the reader's buffers: the file is read to its end whatever it says).
   */
  async openRead(devicePath: string): Promise<{ handle: FileHandle; size: number | undefined }> {
    const { local, stat } = await this.paths.check(devicePath);
    const handle = await this.fs.open(local, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    return { handle, size: stat?.isFile() === true ? stat.size : undefined };
  }

  /** A file's bytes for a download the device asked for (see store-read.ts), after the path's check. */
  async *readChunks(devicePath: string, max: number): AsyncGenerator<Uint8Array> {
    const { local, stat } = await this.paths.check(devicePath);
    yield* readFileChunks(local, stat?.isFile() === true ? stat.size : undefined, max);
  }

  async mkdirp(devicePath: string): Promise<void> {
    const local = await this.resolveNoLinks(devicePath);
    await this.changing(local, false);
    this.madeFolders(local, await this.fs.mkdir(local, { recursive: true, mode: 0o755 }));
    this.flushing.folderChanged(local);
    this.flushing.folderChanged(parentDir(local));
  }

  /** Moves an item, replacing what is at the destination. */
  async move(from: string, to: string): Promise<void> {
    const a = this.paths.resolve(from);
    const fresh = this.paths.resolve(to);
    // A move into a folder this run made, under a name not used there yet (most moves of a
    // first backup), needs no look at its destination: the store put everything there.
    const { local: b, stat: dst } = this.sizes.nothingAt(fresh)
      ? { local: fresh, stat: undefined }
      : await this.paths.check(to);
    // Nor does a source that can only be a file this run wrote (an upload staged in Snapshot/),
    // moved within the device's folder onto no folder: no size crosses the folder's edge, and a
    // failed rename of it changes nothing.
    const own = dst?.isDirectory() !== true && this.sizes.ownFileAt(a) && this.paths.inDevice(b);
    const src = own ? undefined : await this.sourceOf(from, a);
    const changingA = this.changing(a);
    const changingB = this.changing(b);
    if (changingA !== undefined || changingB !== undefined) await Promise.all([changingA, changingB]);
    const delta = src ? await this.sizes.ofMove(a, b, src, dst) : await this.sizes.ofMoveWithin(a, b, dst);
    const isDir = src?.isDirectory() === true;
    try {
      await this.renameOver(a, b, isDir, dst);
    } catch (err) {
      if (!own) this.sizes.resized(undefined);
      throw err;
    }
    this.sizes.resized(delta, src === undefined || src.isFile() ? b : undefined);
    this.flushing.moved(a, b, isDir);
  }

  /** What is at a move's source, after the path's check (ENOENT when nothing is). */
  private async sourceOf(from: string, a: string): Promise<Stats> {
    return (await this.paths.check(from)).stat ?? (await this.fs.lstat(a));
  }

  /** Renames `a` to `b`, removing a folder at `b` first (what is learnt of folders is forgotten). */
  private async renameOver(a: string, b: string, srcIsDir: boolean, dst: Stats | undefined): Promise<void> {
    if (dst?.isDirectory()) {
      this.paths.forget();
      await this.fs.rm(b, { recursive: true, force: true });
    }
    if (srcIsDir) this.paths.forget();
    await this.parentReady(b);
    await this.fs.rename(a, b);
  }

  /** Removes a file or a whole folder; a missing item is fine. */
  async remove(devicePath: string): Promise<void> {
    const local = await this.resolveNoLinks(devicePath);
    await this.changing(local);
    this.paths.forget();
    const gone = await this.sizes.ofRemoval(local);
    try {
      await this.fs.rm(local, { recursive: true, force: true });
    } catch (err) {
      this.sizes.resized(undefined);
      throw err;
    }
    this.sizes.resized(-gone);
    this.flushing.removed(local);
  }

  /** CopyItem: a file, or a folder whole (no link followed); a missing source copies nothing (idevicebackup2.c answers 0). */
  async copy(from: string, to: string): Promise<void> {
    const a = await this.resolveNoLinks(from);
    const b = await this.resolveNoLinks(to);
    const st = await lstatMaybe(this.fs, a);
    if (!st) return;
    await this.changing(b);
    if (this.paths.inDevice(b)) this.sizes.resized(undefined); // rare (CopyItem): measured at the end
    this.paths.forget(); // what it puts in a folder this run made is not told to the sizes (see nothingAt)
    if (st.isDirectory()) await this.copyFolder(a, b);
    else if (st.isFile()) await this.copyOneFile(a, b);
    this.flushing.folderChanged(parentDir(b));
  }

  /** To a temporary name, then rename: the destination may share its data with the kept backup. */
  private async copyOneFile(src: string, dst: string): Promise<void> {
    const tmp = `${dst}.tmp-${process.pid}`;
    await this.fs.copyFile(src, tmp);
    await this.fs.rename(tmp, dst);
    this.flushing.fileChanged(dst);
  }

  private async copyFolder(src: string, dst: string): Promise<void> {
    await this.fs.mkdir(dst, { recursive: true });
    this.flushing.folderChanged(dst);
    for (const name of await this.fs.readdir(src)) {
      const s = await this.fs.lstat(join(src, name));
      if (s.isDirectory()) await this.copyFolder(join(src, name), join(dst, name));
      else if (s.isFile()) await this.copyOneFile(join(src, name), join(dst, name));
    }
  }

  /** Lists a folder truthfully; a missing folder lists as empty. */
  async list(devicePath: string): Promise<StoreEntry[]> {
    return listFolder(this.fs, await this.resolveNoLinks(devicePath));
  }

  /** Free bytes where the backup is written. */
  freeSpace(): Promise<number> {
    return freeBytes(this.fs, this.root);
  }

  /** Flushes every file and folder written in this run (parallel fsyncs), then forgets them. */
  async flush(concurrency = 32): Promise<void> {
    await this.flushing.flush(concurrency);
  }
}
