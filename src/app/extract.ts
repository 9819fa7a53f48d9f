/**
 * `files extract`: writes the selected entries of a backup as `<out>/<domain>/<relativePath>`.
 * Every name goes through `safeEntrySegments` (hostile `..`, absolute and NUL paths are refused
 * and reported) and every target is checked to stay inside `out` (path.relative, and the real
 * path of each folder, so a link already in `out` cannot lead elsewhere). Files stream to
 * `<name>.tmp-<pid>` (created exclusively), get their recorded modification time, then are
 * renamed; memory stays bounded whatever the file size. Links are listed, not created. `out`
 * may not be inside the backup: readers never write into a backup.
 */
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { IbackupError, isIbackupError } from '../errors.js';
import type { BackupEntry, BackupView, EntryFilter } from './backup-view.js';
import { toWarning, type FilesWarning } from './files.js';
import { pathTooLong, safeEntrySegments, windowsNamesByDefault } from './safe-names.js';

/** Files written at the same time. */
const EXTRACT_CONCURRENCY = 8;

export interface ExtractProgress {
  phase: 'extracting';
  percent: number;
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  currentPath?: string;
}

export interface ExtractOptions extends EntryFilter {
  /** The output folder (created when missing). */
  out: string;
  /** Windows file-name rules (default: on Windows). */
  windowsNames?: boolean;
  /** Treat names differing only in case as the same file (default: on macOS and Windows). */
  caseInsensitive?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: ExtractProgress) => void;
}

export type SkipCode = 'UNSAFE_PATH' | 'BLOB_MISSING' | 'DECRYPT_FAILED' | 'WRITE_FAILED' | 'NOT_A_FILE';

export interface ExtractSkip {
  code: SkipCode;
  /** `<domain>/<relativePath>` as recorded in the backup. */
  path: string;
  message: string;
}

export interface ExtractResult {
  out: string;
  filesWritten: number;
  bytesWritten: number;
  directoriesCreated: number;
  /** Links found (not created: a link could point anywhere). */
  links: Array<{ path: string; target: string | null }>;
  /** Entries written under another name (Windows rules, long names, case collisions). */
  renamed: Array<{ path: string; writtenAs: string }>;
  /** Entries not written, and why. */
  skipped: ExtractSkip[];
  warnings: FilesWarning[];
  /** True when every selected file was written. */
  ok: boolean;
}

interface Planned {
  entry: BackupEntry;
  name: string;
  target: string;
}

const DEFAULT_CASE_INSENSITIVE = process.platform === 'darwin' || process.platform === 'win32';

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

/** The real path of the nearest existing ancestor, plus the rest (for a folder not made yet). */
function realish(p: string): string {
  const rest: string[] = [];
  let cur = path.resolve(p);
  for (;;) {
    try {
      return path.join(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return path.resolve(p);
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

/** "name (2).ext" for the n-th file whose name collides with an earlier one. */
function numbered(target: string, n: number): string {
  const ext = path.extname(target);
  const stem = ext === '' || ext === target ? target : target.slice(0, -ext.length);
  return `${stem} (${n})${ext}`;
}

function errCode(err: unknown): string | undefined {
  const c = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof c === 'string' ? c : undefined;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Creates `tmp` for writing, never through a link; a stale one from an earlier run is replaced. */
async function openExclusive(tmp: string): Promise<FileHandle> {
  try {
    return await open(tmp, 'wx', 0o644);
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw err;
    await rm(tmp, { force: true });
    return open(tmp, 'wx', 0o644);
  }
}

/** Renames the finished file into place; a folder of that name is refused, not replaced. */
async function renameOver(tmp: string, target: string): Promise<void> {
  try {
    await rename(tmp, target);
  } catch (err) {
    const code = errCode(err);
    if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM') {
      if ((await stat(target).catch(() => undefined))?.isDirectory())
        throw new IbackupError('UNSAFE_PATH', { message: 'a folder of that name exists already' });
    }
    throw err;
  }
}

export async function extractFiles(view: BackupView, options: ExtractOptions): Promise<ExtractResult> {
  const windows = options.windowsNames ?? windowsNamesByDefault();
  const caseless = options.caseInsensitive ?? DEFAULT_CASE_INSENSITIVE;
  const outAbs = path.resolve(options.out);
  const backupReal = realish(view.dir);
  const outReal = realish(outAbs);
  if (outReal === backupReal || inside(backupReal, outReal)) {
    throw new IbackupError('USAGE', {
      message: `The output folder ${outAbs} is inside the backup ${view.dir}.`,
      remedy: 'Choose an output folder outside the backup with --out DIR: nothing is ever written into a backup.',
    });
  }
  const result: ExtractResult = {
    out: outAbs,
    filesWritten: 0,
    bytesWritten: 0,
    directoriesCreated: 0,
    links: [],
    renamed: [],
    skipped: [],
    warnings: view.warnings.map(toWarning),
    ok: true,
  };
  const skip = (code: SkipCode, name: string, message: string): void => {
    result.skipped.push({ code, path: name, message });
  };

  // Plan: safe names, containment, collisions.
  const files: Planned[] = [];
  const dirs: Planned[] = [];
  const taken = new Map<string, string>();
  for (const entry of view.entries(options)) {
    const name = `${entry.domain}/${entry.relativePath}`;
    if (entry.type === 'symlink') {
      result.links.push({ path: name, target: entry.target ?? null });
      continue;
    }
    if (entry.type === 'unknown') {
      skip('NOT_A_FILE', name, 'is neither a file, a folder nor a link');
      continue;
    }
    const safe = safeEntrySegments(entry.domain, entry.relativePath, { windows });
    if (!safe.ok) {
      skip('UNSAFE_PATH', name, `refused: the path ${safe.reason}`);
      continue;
    }
    let target = path.join(outAbs, ...safe.segments);
    const tooLong = pathTooLong(target, { windows });
    if (!inside(outAbs, target) || tooLong !== undefined) {
      skip('UNSAFE_PATH', name, `refused: the path ${tooLong ?? 'leads outside the output folder'}`);
      continue;
    }
    let renamed = safe.changed;
    if (entry.type === 'file') {
      const key = (t: string): string => (caseless ? t.toLowerCase() : t);
      for (let n = 2; taken.has(key(target)); n++) {
        target = numbered(path.join(outAbs, ...safe.segments), n);
        renamed = true;
      }
      taken.set(key(target), name);
    }
    if (renamed) result.renamed.push({ path: name, writtenAs: path.relative(outAbs, target) });
    (entry.type === 'file' ? files : dirs).push({ entry, name, target });
  }

  mkdirSync(outAbs, { recursive: true });
  const rootReal = realpathSync(outAbs);
  const checked = new Set<string>();
  /** Creates a folder (and its parents) and checks that its real path is still inside `out`. */
  const ensureDir = (dir: string): void => {
    if (checked.has(dir)) return;
    const existed = existsSync(dir);
    mkdirSync(dir, { recursive: true });
    const real = realpathSync(dir);
    if (real !== rootReal && !inside(rootReal, real)) {
      throw new IbackupError('UNSAFE_PATH', {
        message: `${dir} leads outside the output folder (through a link).`,
        remedy: 'Extract into an empty folder.',
      });
    }
    if (!existed) result.directoriesCreated++;
    checked.add(dir);
  };

  for (const d of dirs) {
    try {
      ensureDir(d.target);
    } catch (err) {
      skip(
        isIbackupError(err) ? 'UNSAFE_PATH' : 'WRITE_FAILED',
        d.name,
        isIbackupError(err) ? err.message : `cannot create the folder (${errCode(err) ?? String(err)})`,
      );
    }
  }

  const bytesTotal = files.reduce((n, f) => n + f.entry.size, 0);
  let bytesDone = 0;
  let filesDone = 0;
  const report = (current?: string): void => {
    options.onProgress?.({
      phase: 'extracting',
      percent:
        bytesTotal === 0
          ? files.length === 0
            ? 100
            : Math.floor((filesDone * 100) / files.length)
          : Math.min(100, Math.floor((bytesDone * 100) / bytesTotal)),
      bytesDone,
      bytesTotal,
      filesDone,
      filesTotal: files.length,
      ...(current === undefined ? {} : { currentPath: current }),
    });
  };
  report();
  let cancelled = false;
  const writeOne = async (f: (typeof files)[number]): Promise<void> => {
    if (cancelled || options.signal?.aborted) {
      cancelled = true;
      return;
    }
    const tmp = `${f.target}.tmp-${process.pid}`;
    let fh: FileHandle | undefined;
    try {
      if (f.entry.blobPath === undefined || !(await exists(f.entry.blobPath))) {
        skip('BLOB_MISSING', f.name, 'its data is missing from the backup');
        bytesDone += f.entry.size; // progress counts recorded sizes: a file dealt with counts whole
        filesDone++;
        return;
      }
      ensureDir(path.dirname(f.target));
      fh = await openExclusive(tmp);
      let written = 0;
      for await (const chunk of view.chunks(f.entry)) {
        if (options.signal?.aborted) throw new IbackupError('CANCELLED', { message: 'Extraction was cancelled.' });
        await fh.write(chunk);
        written += chunk.length;
        bytesDone += chunk.length;
        report(f.name);
      }
      if (f.entry.mtime !== null && !Number.isNaN(f.entry.mtime.getTime()))
        await fh.utimes(f.entry.mtime, f.entry.mtime);
      await fh.close();
      fh = undefined;
      await renameOver(tmp, f.target);
      result.filesWritten++;
      result.bytesWritten += written;
      if (written !== f.entry.size) {
        bytesDone += f.entry.size - written; // progress counts recorded sizes (a short file counts whole)
        result.warnings.push({
          code: 'SIZE_CHANGED',
          message: `${f.name}: ${written} bytes written, ${f.entry.size} recorded (the file changed while it was backed up, or its data is damaged).`,
          path: f.name,
        });
      }
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await rm(tmp, { force: true }).catch(() => undefined);
      const code = errCode(err);
      if (code === 'ENOSPC')
        throw new IbackupError('DISK_FULL', {
          message: `The disk of ${outAbs} is full.`,
          remedy: 'Free some space or extract fewer files (a PATTERN or --domain), then try again.',
          cause: err,
        });
      if (code === 'ABORT_ERR' || options.signal?.aborted || (isIbackupError(err) && err.code === 'CANCELLED')) {
        cancelled = true;
        return;
      }
      if (isIbackupError(err) && err.code === 'BACKUP_CORRUPT') skip('DECRYPT_FAILED', f.name, err.message);
      else if (isIbackupError(err))
        skip(err.code === 'UNSAFE_PATH' ? 'UNSAFE_PATH' : 'WRITE_FAILED', f.name, err.message);
      else
        skip(
          'WRITE_FAILED',
          f.name,
          `cannot be written (${code ?? (err instanceof Error ? err.message : String(err))})`,
        );
    }
    filesDone++;
    report(f.name);
  };
  // Several files at a time: for many small files the cost is in opening, renaming and dating them.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length && !cancelled) await writeOne(files[next++] as (typeof files)[number]);
  };
  await Promise.all(Array.from({ length: Math.min(EXTRACT_CONCURRENCY, files.length) }, worker));
  if (cancelled || options.signal?.aborted)
    throw new IbackupError('CANCELLED', { message: 'Extraction was cancelled.' });
  result.ok = result.skipped.length === 0;
  return result;
}
