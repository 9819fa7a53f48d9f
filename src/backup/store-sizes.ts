/**
 * What the store tells the size ledger: how each change alters the size of the device's folder,
 * so the folder's size is known after a run without measuring it. A change it cannot follow (a
 * failed operation, a copy) makes the ledger measure at the end instead. Only the device's folder
 * counts; the bytes of what a change replaces are looked up only while the ledger still knows.
 */
import type { Stats } from 'node:fs';
import { folderSize } from './folder-size.js';
import { lstatMaybe, parentDir, type FsLayer } from './fs-layer.js';
import { NameFilter, type SizeTracker } from './size-ledger.js';
import type { StorePaths } from './store-paths.js';

export class StoreSizes {
  /** Files this run put in folders it created (see ofReplaced), made when first needed. */
  private madeInFresh: NameFilter | undefined;

  constructor(
    private readonly fs: FsLayer,
    private readonly paths: StorePaths,
    private readonly sizes: SizeTracker | undefined,
  ) {}

  /** True while the ledger follows the size (no need to look anything up otherwise). */
  get known(): boolean {
    return this.sizes?.known === true;
  }

  /**
   * The bytes of the file a new one at `local` replaces (0: none; undefined: not a file). In a
   * folder this run created only its own files can be there (see StorePaths' fresh folders):
   * looked up only when the filter may hold the name.
   */
  async ofReplaced(local: string, stat: Stats | undefined): Promise<number | undefined> {
    if (!this.paths.inDevice(local)) return 0;
    if (stat === undefined && this.paths.isFresh(parentDir(local)) && this.madeInFresh?.mayHave(local)) {
      stat = await lstatMaybe(this.fs, local);
    }
    return stat === undefined ? 0 : stat.isFile() ? stat.size : undefined;
  }

  /** A change in the device's folder (undefined: one it cannot follow); `made` is a file now in place. */
  resized(delta: number | undefined, made?: string): void {
    if (made !== undefined && this.paths.isFresh(parentDir(made))) (this.madeInFresh ??= new NameFilter()).add(made);
    if (!this.sizes?.known) return;
    if (delta === undefined) this.sizes.lost();
    else this.sizes.change(delta);
  }

  /**
   * True when nothing can be at `local` (no need to look): only a file this run wrote could be
   * there (see ownFileAt), and no file the run put in such a folder may have its name (each one
   * is told here: `made`).
   */
  nothingAt(local: string): boolean {
    return this.ownFileAt(local) && this.madeInFresh?.mayHave(local) !== true;
  }

  /**
   * True when whatever is at `local` can only be a file this run wrote (or nothing): it is in the
   * device's folder, in a folder this run made, and is not itself a folder the run made. Whatever
   * is in such a folder was put there by the store; a copy or a moved folder makes the store
   * forget its folders.
   */
  ownFileAt(local: string): boolean {
    return this.paths.inDevice(local) && this.paths.isFresh(parentDir(local)) && !this.paths.isFresh(local);
  }

  /** How moving a file this run wrote (see ownFileAt) from `a` onto `b` (now `dst`) within the device's folder changes it. */
  async ofMoveWithin(a: string, b: string, dst: Stats | undefined): Promise<number> {
    return a === b ? 0 : -(await this.bytesOf(b, dst));
  }

  /** A file of `bytes` now at `local`, replacing `replaced` bytes (see ofReplaced). */
  written(local: string, bytes: number, replaced: number | undefined): void {
    if (this.paths.inDevice(local)) this.resized(replaced === undefined ? undefined : bytes - replaced, local);
  }

  /** While the ledger knows the size, the bytes of what is at `local` (a folder's files, measured). */
  async bytesOf(local: string, st: Stats | undefined): Promise<number> {
    if (!this.sizes?.known || st === undefined) return 0;
    return st.isDirectory() ? folderSize(local) : st.isFile() ? st.size : 0;
  }

  /**
   * How moving `a` (now `src`) onto `b` (now `dst`, replaced) changes the device's folder: what
   * `b` held goes; what moves comes in or goes out of the device's folder.
   */
  async ofMove(a: string, b: string, src: Stats, dst: Stats | undefined): Promise<number> {
    const inA = this.paths.inDevice(a);
    const inB = this.paths.inDevice(b);
    const crossing = inA === inB ? 0 : (inB ? 1 : -1) * (await this.bytesOf(a, src));
    return a === b ? 0 : crossing - (inB ? await this.bytesOf(b, dst) : 0);
  }

  /** The bytes about to go with the item at `local` (0 outside the device's folder or while unknown). */
  async ofRemoval(local: string): Promise<number> {
    return this.sizes?.known && this.paths.inDevice(local) ? this.bytesOf(local, await lstatMaybe(this.fs, local)) : 0;
  }
}
