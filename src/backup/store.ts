/**
 * The one place that turns a device's paths into local paths, and the file operations a backup
 * needs. A device is untrusted: a path must name the device's own folder (`<UDID>/…`), its
 * renamed copy (`<UDID>-YYYYMMDD-HHMMSS/…`) or `_unback_/…`, contain no `..`, `\` or NUL, not be
 * absolute, and never pass through a symbolic link. Files are written to a temporary name and
 * renamed; everything written is flushed once, before the backup is declared complete.
 */
import { constants, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { lstatMaybe, nodeFs, parallel, parentDir, type FsLayer } from './fs-layer.js';
import { StoreFileWriter } from './store-file-writer.js';
import { folderSize } from './folder-size.js';
import { NameFilter, type SizeTracker } from './size-ledger.js';
import { UnsafePathError } from './store-errors.js';
import { freeBytes, listFolder, type StoreEntry } from './store-listing.js';

export type { StoreEntry } from './store-listing.js';
export { UnsafePathError, deviceLinkCode, errorText } from './store-errors.js';

const EARLY_FLUSH_BYTES = 256 * 1024 * 1024;
const EARLY_FLUSH_FILES = 32 * 1024;

export interface StoreOptions {
  /** The file system (tests inject faults and record flushes). */
  fs?: FsLayer;
  /**
   * Called before anything in the device's folder is created, replaced or removed; `loses` is
   * false when nothing there now goes away (a new folder).
   */
  beforeChange?: (localPath: string, loses: boolean) => Promise<void>;
  /** Bytes written between two flushes started in the background (default 256 MiB). */
  earlyFlushBytes?: number;
  /** Files written between two flushes started in the background (default 32 768). */
  earlyFlushFiles?: number;
  /** Told how each change alters the size of the device's folder. */
  sizes?: SizeTracker;
}

export class BackupStore {
  /**
   * Files written or moved into place in this run and not yet covered by a flush of the disk that
   * succeeded: what the final flush must fsync one by one where syncfs fails. Emptied by each
   * early flush that succeeds, so a backup of any size keeps at most a batch of names.
   */
  private dirty = new Set<string>();
  /** Folders whose entries changed in this run (a few hundred in a backup): fsynced where syncfs fails. */
  private readonly dirtyDirs = new Set<string>();
  /**
   * Folders found to be real folders (not links) in this run. Only this store changes the
   * backup's folders while it runs, and it never makes a link, so a folder once checked stays
   * safe until the store itself removes or replaces a folder (then the whole set is forgotten).
   */
  private readonly checkedDirs = new Set<string>();
  /**
   * Folders this run created (they did not exist before its CreateDirectory). Whatever is in one
   * was put there by this store, which never makes or moves a link into place, so a new file in
   * one needs no look for a link at its own name (a lookup of a name not there yet is the costly
   * kind). Forgotten with checkedDirs: a folder moved or removed may come back with other content.
   */
  private readonly freshDirs = new Set<string>();
  /** Bytes written since the last early flush began, and that flush while it runs. */
  private sinceEarlyFlush = 0;
  private earlyFlush: Promise<unknown> | undefined;
  /** The names an early flush running now covers (see `moved`). */
  private flushingBatch: Set<string> | undefined;
  /** Cleared when a flush of the disk fails: no more early flushes in this run. */
  private earlyFlushWorks = true;
  private readonly earlyFlushBytes: number;
  private readonly earlyFlushFiles: number;
  private readonly allowedTop: (first: string) => boolean;
  readonly fs: FsLayer;
  private readonly beforeChange: (localPath: string, loses: boolean) => Promise<void>;
  private readonly sizes: SizeTracker | undefined;
  /** Files this run put in folders it created (see sizeOfReplaced), made when first needed. */
  private madeInFresh: NameFilter | undefined;

  constructor(
    readonly root: string,
    readonly udid: string,
    opts: StoreOptions = {},
  ) {
    this.fs = opts.fs ?? nodeFs;
    this.beforeChange = opts.beforeChange ?? (async () => undefined);
    this.earlyFlushBytes = opts.earlyFlushBytes ?? EARLY_FLUSH_BYTES;
    this.earlyFlushFiles = opts.earlyFlushFiles ?? EARLY_FLUSH_FILES;
    this.sizes = opts.sizes;
    const archive = new RegExp(`^${escapeRe(udid)}-\\d{8}-\\d{6}$`);
    this.allowedTop = (first) => first === udid || archive.test(first) || first === '_unback_';
  }

  /** The device's folder for this backup. */
  get deviceDir(): string {
    return join(this.root, this.udid);
  }

  /** Checks a device path and returns the local path (no file-system access). */
  resolve(devicePath: string): string {
    const bad = (why: string): never => {
      throw new UnsafePathError('UNSAFE_PATH', {
        message: `The device asked for an unsafe path (${why}): ${JSON.stringify(devicePath.slice(0, 200))}.`,
        details: { path: devicePath.slice(0, 1024) },
      });
    };
    if (typeof devicePath !== 'string' || devicePath.length === 0) bad('empty');
    if (devicePath.length > 4096) bad('too long');
    if (devicePath.includes('\0')) bad('NUL byte');
    if (devicePath.includes('\\')) bad('backslash');
    if (devicePath.startsWith('/') || /^[A-Za-z]:/.test(devicePath)) bad('absolute');
    const parts = devicePath.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.some((p) => p === '..')) bad('parent folder');
    const first = parts[0];
    if (first === undefined || !this.allowedTop(first)) bad('outside the device folder');
    return join(this.root, ...parts);
  }

  /** Like resolve, and also refuses any symbolic link on the way (nothing is followed). */
  async resolveNoLinks(devicePath: string): Promise<string> {
    return (await this.checkPath(devicePath)).local;
  }

  /** Forgets what was learnt of the folders (a folder was moved, replaced or removed). */
  private forgetDirs(): void {
    this.checkedDirs.clear();
    this.freshDirs.clear();
  }

  /** resolveNoLinks, plus what is at the path now (undefined when nothing is). */
  private async checkPath(devicePath: string, newFile = false): Promise<{ local: string; stat: Stats | undefined }> {
    const local = this.resolve(devicePath);
    if (newFile && this.freshDirs.has(parentDir(local))) return { local, stat: undefined };
    const parts = local.slice(this.root.length).split(sep).filter(Boolean);
    let cur = this.root;
    for (let i = 0; i < parts.length; i++) {
      cur = join(cur, parts[i] as string);
      const last = i === parts.length - 1;
      if (!last && this.checkedDirs.has(cur)) continue;
      const st = await lstatMaybe(this.fs, cur);
      if (!st) break; // the rest does not exist yet
      if (st.isSymbolicLink()) {
        throw new UnsafePathError('UNSAFE_PATH', {
          message: `The device's path passes through a symbolic link: ${JSON.stringify(devicePath.slice(0, 200))}.`,
          details: { path: devicePath.slice(0, 1024) },
        });
      }
      if (last) return { local, stat: st };
      if (st.isDirectory()) this.checkedDirs.add(cur);
    }
    return { local, stat: undefined };
  }

  /** Makes the folder a file goes into, unless it is known to be there already. */
  private async parentReady(file: string): Promise<void> {
    const dir = parentDir(file);
    if (this.checkedDirs.has(dir)) return;
    await this.fs.mkdir(dir, { recursive: true });
  }

  /** Lets the owner act (keep the last complete backup) before the device's folder changes. */
  private async changing(local: string, loses = true): Promise<void> {
    const dir = this.deviceDir;
    if (local === dir || local.startsWith(dir + sep)) await this.beforeChange(local, loses);
  }

  /** Starts writing a file (to a temporary name until `commit`). */
  async createFile(devicePath: string): Promise<StoreFileWriter> {
    const { local, stat } = await this.checkPath(devicePath, true);
    await this.changing(local);
    const replaced = this.sizes?.known ? await this.sizeOfReplaced(local, stat) : 0; // no extra await on a full backup's hot path
    const tmp = `${local}.tmp-${process.pid}`;
    return new StoreFileWriter(this.fs, this.fs.createFile(tmp), tmp, local, (p, bytes) => {
      this.dirty.add(p);
      this.dirtyDirs.add(parentDir(p));
      this.written(bytes);
      if (this.inDevice(p)) this.resized(replaced === undefined ? undefined : bytes - replaced, p);
    });
  }

  /** True for the device's folder and what is in it (what the size ledger follows). */
  private inDevice(local: string): boolean {
    return local === this.deviceDir || local.startsWith(this.deviceDir + sep);
  }

  /**
   * For the size ledger, the bytes of the file a new one at `local` replaces (0: none; undefined:
   * not a file). In a folder this run created only its own files can be there (see freshDirs):
   * looked up only when the filter may hold the name.
   */
  private async sizeOfReplaced(local: string, stat: Stats | undefined): Promise<number | undefined> {
    if (!this.inDevice(local)) return 0;
    if (stat === undefined && this.freshDirs.has(parentDir(local)) && this.madeInFresh?.mayHave(local)) {
      stat = await lstatMaybe(this.fs, local);
    }
    return stat === undefined ? 0 : stat.isFile() ? stat.size : undefined;
  }

  /** Tells the ledger of a change in the device's folder (undefined: one it cannot follow); `made` is a file now in place. */
  private resized(delta: number | undefined, made?: string): void {
    if (!this.sizes?.known) return;
    if (delta === undefined) this.sizes.lost();
    else this.sizes.change(delta);
    if (made !== undefined && this.freshDirs.has(parentDir(made))) (this.madeInFresh ??= new NameFilter()).add(made);
  }

  /** For the size ledger (while it knows the size), the bytes of what is at `local` (a folder's files, measured). */
  private async bytesOf(local: string, st: Stats | undefined): Promise<number> {
    if (!this.sizes?.known || st === undefined) return 0;
    return st.isDirectory() ? folderSize(local) : st.isFile() ? st.size : 0;
  }

  /** Opens a file for reading (a download the device asked for). */
  async openRead(devicePath: string): Promise<FileHandle> {
    const local = await this.resolveNoLinks(devicePath);
    return this.fs.open(local, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  }

  async mkdirp(devicePath: string): Promise<void> {
    const local = await this.resolveNoLinks(devicePath);
    await this.changing(local, false);
    const made = await this.fs.mkdir(local, { recursive: true, mode: 0o755 });
    if (made !== undefined) {
      this.checkedDirs.add(local);
      this.freshDirs.add(local);
    }
    this.dirtyDirs.add(local);
    this.dirtyDirs.add(parentDir(local));
  }

  /** Moves an item, replacing what is at the destination. */
  async move(from: string, to: string): Promise<void> {
    const { local: a, stat: found } = await this.checkPath(from);
    const { local: b, stat: dst } = await this.checkPath(to);
    const src = found ?? (await this.fs.lstat(a)); // ENOENT when the source is missing
    await Promise.all([this.changing(a), this.changing(b)]);
    // The size ledger: what b held goes; what moves comes in or goes out of the device's folder.
    const inA = this.inDevice(a);
    const inB = this.inDevice(b);
    const crossing = inA === inB ? 0 : (inB ? 1 : -1) * (await this.bytesOf(a, src));
    const delta = a === b ? 0 : crossing - (inB ? await this.bytesOf(b, dst) : 0);
    try {
      if (dst?.isDirectory()) {
        this.forgetDirs();
        await this.fs.rm(b, { recursive: true, force: true });
      }
      if (src.isDirectory()) this.forgetDirs();
      await this.parentReady(b);
      await this.fs.rename(a, b);
    } catch (err) {
      this.resized(undefined);
      throw err;
    }
    this.resized(delta, src.isFile() ? b : undefined);
    this.moved(a, b, src.isDirectory());
    this.dirtyDirs.add(parentDir(a));
    this.dirtyDirs.add(parentDir(b));
  }

  /**
   * Keeps the names to flush true after a rename: what was written and not yet flushed under `a`
   * is now under `b` (a file's data moves with it: flushing b flushes it). Something flushed
   * already, or not written by this run, needs only its two folders flushed.
   */
  private moved(a: string, b: string, dir: boolean): void {
    const pending = (p: string): boolean => this.dirty.delete(p) || this.flushingBatch?.delete(p) === true;
    if (pending(a)) this.dirty.add(b);
    if (!dir) return;
    const inside = a + sep;
    for (const p of [...this.dirty, ...(this.flushingBatch ?? [])]) {
      if (p.startsWith(inside) && pending(p)) this.dirty.add(b + p.slice(a.length));
    }
  }

  /** Removes a file or a whole folder; a missing item is fine. */
  async remove(devicePath: string): Promise<void> {
    const local = await this.resolveNoLinks(devicePath);
    await this.changing(local);
    this.forgetDirs();
    const gone =
      this.sizes?.known && this.inDevice(local) ? await this.bytesOf(local, await lstatMaybe(this.fs, local)) : 0;
    try {
      await this.fs.rm(local, { recursive: true, force: true });
    } catch (err) {
      this.resized(undefined);
      throw err;
    }
    this.resized(-gone);
    this.dirty.delete(local);
    this.dirtyDirs.add(parentDir(local));
  }

  /** CopyItem: a file, or a folder whole (no link followed); a missing source copies nothing (idevicebackup2.c answers 0). */
  async copy(from: string, to: string): Promise<void> {
    const a = await this.resolveNoLinks(from);
    const b = await this.resolveNoLinks(to);
    const st = await lstatMaybe(this.fs, a);
    if (!st) return;
    await this.changing(b);
    if (this.inDevice(b)) this.resized(undefined); // rare (CopyItem): measured at the end
    if (st.isDirectory()) await this.copyFolder(a, b);
    else if (st.isFile()) await this.copyOneFile(a, b);
    this.dirtyDirs.add(parentDir(b));
  }

  /** To a temporary name, then rename: the destination may share its data with the kept backup. */
  private async copyOneFile(src: string, dst: string): Promise<void> {
    const tmp = `${dst}.tmp-${process.pid}`;
    await this.fs.copyFile(src, tmp);
    await this.fs.rename(tmp, dst);
    this.dirty.add(dst);
  }

  private async copyFolder(src: string, dst: string): Promise<void> {
    await this.fs.mkdir(dst, { recursive: true });
    this.dirtyDirs.add(dst);
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

  /**
   * Counts what was written; every `earlyFlushBytes` or `earlyFlushFiles`, starts a flush of the
   * disk in the background (one at a time), so the disk writes the data while more arrives
   * instead of all of it after the last file. Files committed before it began are then flushed
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

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
