/**
 * How big a device's backup folder is, kept up to date while a run changes it, so that the run
 * need not look at every file at its end to say so (on a big backup, that walk was most of an
 * incremental backup's own work).
 *
 * A complete run saves its figure under `<root>/.ibackup/sizes/<UDID>.json` with the identity
 * (inode, size, modification time) of the folder's top-level plists and Manifest.db. The next
 * run starts from it only when all are still those files, and removes it before its first change:
 * a run that does not complete leaves no figure, and the next one measures. A change the ledger
 * cannot follow cheaply (a copy into the folder) makes the figure unknown, and the run measures
 * at its end. The figure is only ever shown: nothing is decided on it.
 */
import { lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { folderSize } from './folder-size.js';
import { nodeFs, parentDir } from './fs-layer.js';

const SIZES_DIR = join('.ibackup', 'sizes');
/**
 * The files whose identity says the folder is the one measured: every run rewrites them, and
 * so do other tools' backups (and a password change, Manifest.plist).
 */
const WITNESSES = ['Status.plist', 'Manifest.db', 'Manifest.plist', 'Info.plist'];

/** What the store tells of its changes to the device's folder. */
export interface SizeTracker {
  /** Bytes added (negative: removed) in the device's folder. */
  change(delta: number): void;
  /** A change that could not be followed: the size is measured at the end. */
  lost(): void;
  /** Follows `change`s only while the size is known (the store skips work otherwise). */
  readonly known: boolean;
}

interface Saved {
  size: number;
  witnesses: string[];
}

export class SizeLedger implements SizeTracker {
  private total: number | undefined;
  /** The saved figure's removal: under way (its promise), done (true), or not started. */
  private dropped: Promise<void> | true | undefined;

  private constructor(
    private readonly root: string,
    private readonly udid: string,
    start: number | undefined,
  ) {
    this.total = start;
  }

  /**
   * The ledger of a device's folder: known when the saved figure is still the folder's, or when
   * there is no folder yet (a first backup starts from nothing, and needs no walk of its
   * files at its end).
   */
  static async open(root: string, udid: string): Promise<SizeLedger> {
    const absent = await lstat(join(root, udid)).then(
      () => false,
      (err: unknown) => (err as { code?: unknown }).code === 'ENOENT',
    );
    return new SizeLedger(root, udid, absent ? 0 : await savedSize(root, udid));
  }

  get known(): boolean {
    return this.total !== undefined;
  }

  /** The folder's size as followed so far, when known. */
  get figure(): number | undefined {
    return this.total;
  }

  change(delta: number): void {
    if (this.total !== undefined) this.total += delta;
  }

  lost(): void {
    this.total = undefined;
  }

  /**
   * Removes the saved figure, on disk before the run's first change (once is enough): a run that
   * dies after it, even with the computer, leaves no figure, and the next run measures the
   * folder and removes the unfinished files it left. Every change waits for the removal; once it
   * is done, nothing is returned (no promise per change).
   */
  beforeChange(): Promise<void> | undefined {
    if (this.dropped === true) return undefined;
    this.dropped ??= this.drop().then(() => {
      this.dropped = true;
    });
    return this.dropped;
  }

  /** Removes the saved figure and flushes its folder. */
  private async drop(): Promise<void> {
    const file = recordPath(this.root, this.udid);
    if (!(await lstat(file).catch(() => undefined))) return;
    await rm(file, { force: true });
    await nodeFs.sync(parentDir(file), true).catch(() => undefined); // where the platform can sync a folder
  }

  /** The folder's size now (measured when unknown), saved for the next run. */
  async finish(): Promise<number> {
    const dir = join(this.root, this.udid);
    const size = this.total ?? (await folderSize(dir));
    const w = await witnesses(dir);
    if (w !== undefined) await save(recordPath(this.root, this.udid), { size, witnesses: w }).catch(() => undefined);
    return size;
  }
}

/** The size a complete run saved for `<root>/<udid>/`, when its witnesses are still the files it measured. */
export async function savedSize(root: string, udid: string): Promise<number | undefined> {
  const saved = await readFile(recordPath(root, udid), 'utf8')
    .then((text) => JSON.parse(text) as Saved)
    .catch(() => undefined);
  if (!saved || !Number.isSafeInteger(saved.size) || saved.size < 0 || !Array.isArray(saved.witnesses))
    return undefined;
  const now = await witnesses(join(root, udid));
  return now !== undefined && now.join('|') === saved.witnesses.join('|') ? saved.size : undefined;
}

/** Removes the size saved for `<root>/<udid>/` (its backup was deleted). */
export async function forgetSavedSize(root: string, udid: string): Promise<void> {
  await rm(recordPath(root, udid), { force: true });
}

function recordPath(root: string, udid: string): string {
  return join(root, SIZES_DIR, `${udid}.json`);
}

/** The identity of the witness files, or undefined when one is missing. */
async function witnesses(dir: string): Promise<string[] | undefined> {
  const out: string[] = [];
  for (const name of WITNESSES) {
    const st = await lstat(join(dir, name)).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    out.push(`${name}:${st.ino}:${st.size}:${st.mtimeMs}`);
  }
  return out;
}

/** Written whole (temp, then rename); a lost figure only costs the next run a measurement. */
async function save(file: string, saved: Saved): Promise<void> {
  await mkdir(parentDir(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(saved)}\n`);
  await rename(tmp, file);
}

/**
 * The names of files a run made in folders it created, as a Bloom filter (fixed memory at any
 * size): "no" is certain, "maybe" costs a look. A file in such a folder can only be one this run
 * made, so a new file there replaces nothing unless the filter says maybe.
 */
export class NameFilter {
  private readonly bits: Uint8Array;
  private readonly mask: number;

  /** `log2Bits`: 23 (a megabyte) keeps false "maybe"s near 0.2% at 200 000 names. */
  constructor(log2Bits = 23) {
    this.bits = new Uint8Array(2 ** (log2Bits - 3));
    this.mask = 2 ** log2Bits - 1;
  }

  add(name: string): void {
    this.each(name, (i) => {
      this.bits[i >>> 3] = (this.bits[i >>> 3] as number) | (1 << (i & 7));
      return true;
    });
  }

  mayHave(name: string): boolean {
    return this.each(name, (i) => ((this.bits[i >>> 3] as number) & (1 << (i & 7))) !== 0);
  }

  /** Three positions by double hashing (FNV-1a, and a mix of it); false as soon as `fn` says so. */
  private each(name: string, fn: (i: number) => boolean): boolean {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    let g = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    g = (g ^ (g >>> 13)) | 1;
    for (let k = 0; k < 3; k++) if (!fn((h + Math.imul(k, g)) & this.mask)) return false;
    return true;
  }
}
