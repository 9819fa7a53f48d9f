/**
 * The store's path checks, the one place a device path becomes a local path. A device is
 * untrusted: a path must pass protocol/'s device-path checks (relative, no `..`, `\` or NUL),
 * name the device's own folder (`<UDID>/…`), its renamed copy (`<UDID>-YYYYMMDD-HHMMSS/…`) or
 * `_unback_/…`, and never pass through a symbolic link. What it learns of the folders on the way
 * is kept, so each folder is looked at once per run.
 */
import type { Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { IbackupError } from '../errors.js';
import { isPlainDevicePath, parseDevicePath } from '../protocol/device-path.js';
import { lstatMaybe, parentDir, type FsLayer } from './fs-layer.js';
import { SNAPSHOT_DIR } from './folder.js';

/** A device path the store refused (outside the device's folder, through a link…). */
export class UnsafePathError extends IbackupError {}

/** A local path and what is there now (undefined when nothing is). */
export interface CheckedPath {
  local: string;
  stat: Stats | undefined;
}

export class StorePaths {
  /**
   * Folders found to be real folders (not links) in this run. Only the store changes the
   * backup's folders while it runs, and it never makes a link, so a folder once checked stays
   * safe until the store itself removes or replaces a folder (then the whole set is forgotten).
   */
  private readonly checkedDirs = new Set<string>();
  /**
   * Folders this run created (they did not exist before its CreateDirectory). Whatever is in one
   * was put there by the store, which never makes or moves a link into place, so a new file in
   * one needs no look for a link at its own name (a lookup of a name not there yet is the costly
   * kind). Forgotten with checkedDirs: a folder moved or removed may come back with other content.
   */
  private readonly freshDirs = new Set<string>();
  private readonly allowedTop: (first: string) => boolean;
  /** The device's folder for this backup (asked several times per file: made once). */
  readonly deviceDir: string;
  private readonly deviceDirSep: string;
  /** `<UDID>/Snapshot/`, where the device stages its uploads. */
  private readonly stagingSep: string;
  /** The root in its normal form, ending in the separator: a plain device path is appended to it. */
  private readonly rootSep: string;
  /** `<UDID>/`: the start of most device paths. */
  private readonly udidSlash: string;

  constructor(
    readonly root: string,
    readonly udid: string,
    private readonly fs: FsLayer,
  ) {
    this.deviceDir = join(root, udid);
    this.deviceDirSep = this.deviceDir + sep;
    this.stagingSep = join(this.deviceDir, SNAPSHOT_DIR) + sep;
    const base = join(root);
    this.rootSep = base.endsWith(sep) ? base : base + sep;
    this.udidSlash = `${udid}/`;
    const archive = new RegExp(`^${escapeRe(udid)}-\\d{8}-\\d{6}$`);
    this.allowedTop = (first) => first === udid || archive.test(first) || first === '_unback_';
  }

  /** True for the device's folder and what is in it. */
  inDevice(local: string): boolean {
    return local.startsWith(this.deviceDirSep) || local === this.deviceDir;
  }

  /** True for what is inside the device's staging folder (`<UDID>/Snapshot/`). */
  isStaging(local: string): boolean {
    return local.startsWith(this.stagingSep);
  }

  /**
   * Checks a device path and returns the local path (no file-system access). A plain path in an
   * allowed top folder (nearly every path of a backup) is appended to the root as it is: the same
   * local path as its parts joined, without them made.
   */
  resolve(devicePath: string): string {
    if (isPlainDevicePath(devicePath) && this.plainTopAllowed(devicePath)) {
      return this.rootSep + (sep === '/' ? devicePath : devicePath.replaceAll('/', sep));
    }
    const parsed = parseDevicePath(devicePath);
    if ('problem' in parsed) throw unsafePath(devicePath, `The device asked for an unsafe path (${parsed.problem})`);
    const first = parsed.parts[0];
    if (first === undefined || !this.allowedTop(first)) {
      throw unsafePath(devicePath, 'The device asked for an unsafe path (outside the device folder)');
    }
    return join(this.root, ...parsed.parts);
  }

  private plainTopAllowed(devicePath: string): boolean {
    if (devicePath.startsWith(this.udidSlash) || devicePath === this.udid) return true;
    const slash = devicePath.indexOf('/');
    return this.allowedTop(slash < 0 ? devicePath : devicePath.slice(0, slash));
  }

  /**
   * resolve, and also refuses any symbolic link on the way (nothing is followed); returns what is
   * at the path now. `newFile`: a file about to be made, whose folder may be one this run made.
   */
  async check(devicePath: string, newFile = false): Promise<CheckedPath> {
    const local = this.resolve(devicePath);
    const parent = parentDir(local);
    if (newFile && this.freshDirs.has(parent)) return { local, stat: undefined };
    // The folders on the way are looked at unless the file's own is checked already: then they
    // were too, or this run made them (nearly every file a restore reads, or a run replaces).
    if (!this.checkedDirs.has(parent) && !(await this.foldersOnTheWay(devicePath, local))) {
      return { local, stat: undefined };
    }
    const st = await lstatMaybe(this.fs, local);
    if (st?.isSymbolicLink()) throw linkOnTheWay(devicePath);
    return { local, stat: st };
  }

  /**
   * Looks at each folder above `local` not checked yet, and notes the real ones: false when one
   * does not exist (nor does the rest); a symbolic link is refused.
   */
  private async foldersOnTheWay(devicePath: string, local: string): Promise<boolean> {
    const parts = local.slice(this.root.length).split(sep).filter(Boolean);
    let cur = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      cur = join(cur, parts[i] as string);
      if (this.checkedDirs.has(cur)) continue;
      const st = await lstatMaybe(this.fs, cur);
      if (!st) return false;
      if (st.isSymbolicLink()) throw linkOnTheWay(devicePath);
      if (st.isDirectory()) this.checkedDirs.add(cur);
    }
    return true;
  }

  /** True when the folder is known to be a real folder (checked, or made, in this run). */
  isChecked(dir: string): boolean {
    return this.checkedDirs.has(dir);
  }

  /** True when this run made the folder (see freshDirs). */
  isFresh(dir: string): boolean {
    return this.freshDirs.has(dir);
  }

  /** The store made this folder (it was not there). */
  made(dir: string): void {
    this.checkedDirs.add(dir);
    this.freshDirs.add(dir);
  }

  /** Forgets what was learnt of the folders (a folder was moved, replaced or removed). */
  forget(): void {
    this.checkedDirs.clear();
    this.freshDirs.clear();
  }
}

/** `lead`: the message up to the path, which follows it (quoted, cut at 200 characters). */
function unsafePath(devicePath: string, lead: string): UnsafePathError {
  return new UnsafePathError('UNSAFE_PATH', {
    message: `${lead}: ${JSON.stringify(devicePath.slice(0, 200))}.`,
    details: { path: devicePath.slice(0, 1024) },
  });
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function linkOnTheWay(devicePath: string): UnsafePathError {
  return unsafePath(devicePath, "The device's path passes through a symbolic link");
}
