/**
 * Where an export writes: the folder or file the user chose (parents created). Every name that
 * comes from the data (a conversation, a contact, an attachment's file name) becomes one plain
 * file name — no separators, no "..", no control characters, no names Windows reserves, at most
 * 120 characters — and is made unique in its folder; every target is checked to stay inside the
 * output folder. Files are written to a temporary name and renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { windowsSafeSegment } from '../backup/safe-names.js';
import { IbackupError } from '../errors.js';

const MAX_NAME = 120;

/** One plain, portable file name for `raw` (see the module comment); `fallback` when nothing is left. */
export function plainName(raw: string, fallback = 'unnamed'): string {
  let s = raw
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex -- control characters never belong in a file name
    .replace(/[\u0000-\u001f\u007f/\\]/g, '_');
  s = windowsSafeSegment(s)
    .replace(/^[.\s]+/, '')
    .trim();
  if (s === '' || /^_*$/.test(s)) s = fallback;
  if ([...s].length > MAX_NAME) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 && s.length - dot <= 10 ? s.slice(dot) : '';
    s = [...s.slice(0, s.length - ext.length)].slice(0, MAX_NAME - ext.length).join('') + ext;
  }
  return s;
}

/** A folder being written: unique names, containment, atomic files. */
export class OutputFolder {
  private readonly used = new Set<string>();
  readonly written: string[] = [];

  private constructor(readonly dir: string) {}

  static async create(dir: string): Promise<OutputFolder> {
    const abs = path.resolve(dir);
    await mkdir(abs, { recursive: true }).catch((err: unknown) => {
      throw writeError(abs, err);
    });
    return new OutputFolder(abs);
  }

  /** A name not used yet in this folder ("name (2).ext" …), compared without case. */
  unique(name: string): string {
    const dot = name.lastIndexOf('.');
    const stem = dot > 0 ? name.slice(0, dot) : name;
    const ext = dot > 0 ? name.slice(dot) : '';
    let candidate = name;
    for (let n = 2; this.used.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${ext}`;
    this.used.add(candidate.toLowerCase());
    return candidate;
  }

  /** The absolute path of `segments` under the folder; UNSAFE_PATH if it would leave it. */
  resolve(...segments: string[]): string {
    const target = path.resolve(this.dir, ...segments);
    const rel = path.relative(this.dir, target);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new IbackupError('UNSAFE_PATH', {
        message: `Refusing to write ${JSON.stringify(segments.join('/'))} outside ${this.dir}.`,
      });
    }
    return target;
  }

  /** A path under this folder, relative to it, with forward slashes. */
  relative(target: string): string {
    return path.relative(this.dir, target).split(path.sep).join('/');
  }

  /** A sub-folder (created) under this one. */
  async sub(name: string): Promise<OutputFolder> {
    const dir = this.resolve(name);
    await mkdir(dir, { recursive: true });
    return new OutputFolder(dir);
  }

  /** Fills `name` through `fill(tempPath)` (a temporary name in the folder), then renames it into place. */
  async writeWith(name: string, fill: (tmp: string) => Promise<void>): Promise<string> {
    const target = this.resolve(name);
    const tmp = this.resolve(`.${name}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await fill(tmp);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw writeError(target, err);
    }
    this.written.push(target);
    return target;
  }

  /** Writes `data` as `name` in the folder: a temporary name first, then a rename. */
  async write(name: string, data: string | Uint8Array): Promise<string> {
    const target = this.resolve(name);
    await writeAtomic(target, data);
    this.written.push(target);
    return target;
  }
}

/** A failed write as the user reads it: DISK_FULL when the disk is full, else FILE_ACCESS naming the path. */
export function writeError(target: string, err: unknown): IbackupError {
  if (err instanceof IbackupError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new IbackupError('DISK_FULL', { message: `The disk is full: ${target} could not be written.`, cause: err });
  return new IbackupError('FILE_ACCESS', {
    message: `${target} could not be written (${code ?? (err as Error).message}).`,
    remedy: 'Choose a folder you can write to (--out), with room for the export.',
    cause: err,
  });
}

/** Writes a file through a temporary name in the same folder and a rename. */
export async function writeAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(tmp, data, { flag: 'wx', mode: 0o644 });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw writeError(target, err);
  }
}
