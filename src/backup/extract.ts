/**
 * Extraction: writes the selected entries of a backup as `<out>/<domain>/<relativePath>`. Every
 * name goes through `safeEntrySegments` (hostile `..`, absolute and NUL paths are refused and
 * reported) and every target is checked to stay inside `out` (path.relative, and the real path of
 * each folder, so a link already in `out` cannot lead elsewhere). Files stream to
 * `<name>.tmp-<pid>` (created exclusively), get their recorded modification time, then are
 * renamed; memory stays bounded whatever the file size. Links are listed, not created. `out` may
 * not be inside the backup: readers never write into a backup.
 */
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { IbackupError, isIbackupError } from '../errors.js';
import { toWarning, type BackupBrowser, type EntryFilter, type FilesWarning } from './browse.js';
import { inside, planExtraction, refuseOutputInBackup, skip, type Planned } from './extract-plan.js';
import { windowsNamesByDefault } from './safe-names.js';

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

const DEFAULT_CASE_INSENSITIVE = process.platform === 'darwin' || process.platform === 'win32';

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

function cancelledError(): IbackupError {
  return new IbackupError('CANCELLED', { message: 'Extraction was cancelled.' });
}

/** The output folder: created, and every folder made in it checked to stay inside it. */
class OutputFolder {
  private readonly rootReal: string;
  private readonly checked = new Set<string>();

  constructor(
    outAbs: string,
    private readonly result: ExtractResult,
  ) {
    mkdirSync(outAbs, { recursive: true });
    this.rootReal = realpathSync(outAbs);
  }

  /** Creates a folder (and its parents) and checks that its real path is still inside `out`. */
  ensureDir(dir: string): void {
    if (this.checked.has(dir)) return;
    const existed = existsSync(dir);
    mkdirSync(dir, { recursive: true });
    const real = realpathSync(dir);
    if (real !== this.rootReal && !inside(this.rootReal, real)) {
      throw new IbackupError('UNSAFE_PATH', {
        message: `${dir} leads outside the output folder (through a link).`,
        remedy: 'Extract into an empty folder.',
      });
    }
    if (!existed) this.result.directoriesCreated++;
    this.checked.add(dir);
  }

  /** The backup's folders, even empty ones; one that cannot be made is skipped. */
  makeFolders(dirs: readonly Planned[]): void {
    for (const d of dirs) {
      try {
        this.ensureDir(d.target);
      } catch (err) {
        skip(
          this.result,
          isIbackupError(err) ? 'UNSAFE_PATH' : 'WRITE_FAILED',
          d.name,
          isIbackupError(err) ? err.message : `cannot create the folder (${errCode(err) ?? String(err)})`,
        );
      }
    }
  }
}

/** Writes the planned files, several at a time, with progress counted in recorded sizes. */
class FileWriting {
  private bytesDone = 0;
  private filesDone = 0;
  private readonly bytesTotal: number;
  cancelled = false;

  constructor(
    private readonly source: BackupBrowser,
    private readonly out: OutputFolder,
    private readonly files: readonly Planned[],
    private readonly result: ExtractResult,
    private readonly options: ExtractOptions,
  ) {
    this.bytesTotal = files.reduce((n, f) => n + f.entry.size, 0);
  }

  private percent(): number {
    const { bytesTotal, bytesDone, filesDone, files } = this;
    if (bytesTotal !== 0) return Math.min(100, Math.floor((bytesDone * 100) / bytesTotal));
    return files.length === 0 ? 100 : Math.floor((filesDone * 100) / files.length);
  }

  report(current?: string): void {
    this.options.onProgress?.({
      phase: 'extracting',
      percent: this.percent(),
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      filesDone: this.filesDone,
      filesTotal: this.files.length,
      ...(current === undefined ? {} : { currentPath: current }),
    });
  }

  /** Several files at a time: for many small files the cost is in opening, renaming and dating them. */
  async run(): Promise<void> {
    this.report();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.files.length && !this.cancelled) await this.writeOne(this.files[next++] as Planned);
    };
    await Promise.all(Array.from({ length: Math.min(EXTRACT_CONCURRENCY, this.files.length) }, worker));
  }

  private async writeOne(f: Planned): Promise<void> {
    if (this.cancelled || this.options.signal?.aborted) {
      this.cancelled = true;
      return;
    }
    const tmp = `${f.target}.tmp-${process.pid}`;
    try {
      if (f.entry.blobPath === undefined || !(await exists(f.entry.blobPath))) {
        skip(this.result, 'BLOB_MISSING', f.name, 'its data is missing from the backup');
        this.bytesDone += f.entry.size; // progress counts recorded sizes: a file dealt with counts whole
        this.filesDone++;
        return;
      }
      await this.writeFile(f, tmp);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      if (this.failed(f, err)) return;
    }
    this.filesDone++;
    this.report(f.name);
  }

  /** Streams one file to `tmp`, dates it and renames it into place. */
  private async writeFile(f: Planned, tmp: string): Promise<void> {
    this.out.ensureDir(path.dirname(f.target));
    let fh: FileHandle | undefined = await openExclusive(tmp);
    let written = 0;
    try {
      for await (const chunk of this.source.chunks(f.entry)) {
        if (this.options.signal?.aborted) throw cancelledError();
        await fh.write(chunk);
        written += chunk.length;
        this.bytesDone += chunk.length;
        this.report(f.name);
      }
      if (f.entry.mtime !== null && !Number.isNaN(f.entry.mtime.getTime()))
        await fh.utimes(f.entry.mtime, f.entry.mtime);
      await fh.close();
      fh = undefined;
    } finally {
      await fh?.close().catch(() => undefined);
    }
    await renameOver(tmp, f.target);
    this.written(f, written);
  }

  private written(f: Planned, written: number): void {
    this.result.filesWritten++;
    this.result.bytesWritten += written;
    if (written === f.entry.size) return;
    this.bytesDone += f.entry.size - written; // progress counts recorded sizes (a short file counts whole)
    this.result.warnings.push({
      code: 'SIZE_CHANGED',
      message: `${f.name}: ${written} bytes written, ${f.entry.size} recorded (the file changed while it was backed up, or its data is damaged).`,
      path: f.name,
    });
  }

  /** Records why `f` was not written; throws when the disk is full; true when the extraction was cancelled. */
  private failed(f: Planned, err: unknown): boolean {
    const code = errCode(err);
    if (code === 'ENOSPC')
      throw new IbackupError('DISK_FULL', {
        message: `The disk of ${this.result.out} is full.`,
        remedy: 'Free some space or extract fewer files (a PATTERN or --domain), then try again.',
        cause: err,
      });
    if (code === 'ABORT_ERR' || this.options.signal?.aborted || (isIbackupError(err) && err.code === 'CANCELLED')) {
      this.cancelled = true;
      return true;
    }
    if (isIbackupError(err) && err.code === 'BACKUP_CORRUPT') skip(this.result, 'DECRYPT_FAILED', f.name, err.message);
    else if (isIbackupError(err))
      skip(this.result, err.code === 'UNSAFE_PATH' ? 'UNSAFE_PATH' : 'WRITE_FAILED', f.name, err.message);
    else
      skip(
        this.result,
        'WRITE_FAILED',
        f.name,
        `cannot be written (${code ?? (err instanceof Error ? err.message : String(err))})`,
      );
    return false;
  }
}

/** Writes the entries `options` selects from `source` into `options.out` (see the module comment). */
export async function extractEntries(source: BackupBrowser, options: ExtractOptions): Promise<ExtractResult> {
  const rules = {
    windows: options.windowsNames ?? windowsNamesByDefault(),
    caseless: options.caseInsensitive ?? DEFAULT_CASE_INSENSITIVE,
  };
  const outAbs = path.resolve(options.out);
  refuseOutputInBackup(source.dir, outAbs);
  const result: ExtractResult = {
    out: outAbs,
    filesWritten: 0,
    bytesWritten: 0,
    directoriesCreated: 0,
    links: [],
    renamed: [],
    skipped: [],
    warnings: source.warnings.map(toWarning),
    ok: true,
  };
  const { files, dirs } = planExtraction(source.entries(options), outAbs, rules, result);
  const out = new OutputFolder(outAbs, result);
  out.makeFolders(dirs);
  const writing = new FileWriting(source, out, files, result, options);
  await writing.run();
  if (writing.cancelled || options.signal?.aborted) throw cancelledError();
  result.ok = result.skipped.length === 0;
  return result;
}
