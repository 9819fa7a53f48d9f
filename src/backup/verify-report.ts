/**
 * What `verify` reports, whatever the backup's index (Manifest.db or Manifest.mbdb): options,
 * progress, counts and problems; the collector that caps problems per code; and the checker that
 * looks at regular files' blobs a few at a time and tallies what it found. Counts always add
 * up: filesPresent + filesMissing = filesExpected.
 */
import { IbackupError } from '../errors.js';
import type { BackupProblem, ProblemCode } from './folder.js';
import { checkStoredFile } from './verify-row.js';
import type { RowCheckOptions, RowCheckResult, StoredFile } from './verify-row.js';

export interface VerifyOptions {
  password?: string | Uint8Array;
  /** A cached derived key (KEK) instead of the password. */
  derivedKey?: Uint8Array;
  /** Decrypt every file of an encrypted backup (default true). */
  decrypt?: boolean;
  /** Compare recorded Digests with the blobs (default true). */
  checkDigests?: boolean;
  /** Problems kept per code; more are only counted (default 200). */
  maxProblemsPerCode?: number;
  /** Blobs checked at the same time (default 16). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: VerifyProgress) => void;
  tempParent?: string;
}

export interface VerifyProgress {
  phase: 'verify';
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  currentPath?: string;
}

export interface VerifyCounts {
  /** Entries of the index: Manifest.db rows, or Manifest.mbdb records. */
  rows: number;
  /** Regular files among them. */
  files: number;
  directories: number;
  symlinks: number;
  /** Entries that are neither a file, a folder nor a link (Manifest.db flags other than 1, 2, 4). */
  otherRows: number;
  /** Regular files whose stored copy (blob) should be in the backup: every one of them. */
  filesExpected: number;
  /** Regular files whose blob was found. */
  filesPresent: number;
  /** Regular files whose blob was not found, or cannot be named (a malformed fileID): filesExpected − filesPresent. */
  filesMissing: number;
  /** Present files found damaged: wrong size, wrong Digest, not decrypting or unreadable. */
  filesDamaged: number;
  /** Sum of the recorded Size of regular files. */
  bytes: number;
  /** Bytes of the blobs on disk. */
  blobBytes: number;
  /** Blobs found on disk and checked (the same as filesPresent). */
  blobsChecked: number;
  /** Blobs looked for and not found (each one a BLOB_MISSING problem). */
  blobsMissing: number;
  digestsChecked: number;
  filesDecrypted: number;
  decryptedBytes: number;
  errors: number;
  warnings: number;
  /** Problems counted but not listed (over `maxProblemsPerCode`). */
  problemsOmitted: number;
}

export interface VerifyResult {
  /** True when no error-severity problem was found: the backup looks restorable. */
  ok: boolean;
  /** The index: Manifest.db (iOS 10 and later) or Manifest.mbdb (iOS 9 and earlier). */
  format: 'manifest-db' | 'mbdb';
  encrypted: boolean;
  /** True when the password (or derived key) opened the keybag. */
  passwordChecked: boolean;
  counts: VerifyCounts;
  problems: BackupProblem[];
}

/** Collects problems, keeping at most `max` per code (the others are only counted). */
export class Collector {
  readonly problems: BackupProblem[] = [];
  readonly perCode = new Map<ProblemCode, number>();
  omitted = 0;
  errors = 0;
  warnings = 0;
  constructor(readonly max: number) {}

  add(p: BackupProblem): void {
    if (p.severity === 'error') this.errors++;
    else this.warnings++;
    const n = (this.perCode.get(p.code) ?? 0) + 1;
    this.perCode.set(p.code, n);
    if (n > this.max) this.omitted++;
    else this.problems.push(p);
  }
}

export function emptyCounts(): VerifyCounts {
  return {
    rows: 0,
    files: 0,
    directories: 0,
    symlinks: 0,
    otherRows: 0,
    filesExpected: 0,
    filesPresent: 0,
    filesMissing: 0,
    filesDamaged: 0,
    bytes: 0,
    blobBytes: 0,
    blobsChecked: 0,
    blobsMissing: 0,
    digestsChecked: 0,
    filesDecrypted: 0,
    decryptedBytes: 0,
    errors: 0,
    warnings: 0,
    problemsOmitted: 0,
  };
}

export function cancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new IbackupError('CANCELLED', { message: 'Verification was cancelled.' });
}

/** Counts an entry of the index by its kind. */
export function countKind(counts: VerifyCounts, kind: 'file' | 'directory' | 'symlink' | 'unknown'): void {
  counts.rows++;
  if (kind === 'file') counts.files++;
  else if (kind === 'directory') counts.directories++;
  else if (kind === 'symlink') counts.symlinks++;
  else counts.otherRows++;
}

/** Adds one file's check to the counts. */
export function tallyFile(counts: VerifyCounts, r: RowCheckResult): void {
  counts.filesExpected++;
  if (r.blobChecked) {
    counts.filesPresent++;
    counts.blobsChecked++;
    if (r.problems.some((p) => p.severity === 'error')) counts.filesDamaged++;
  } else counts.filesMissing++;
  if (r.blobMissing) counts.blobsMissing++;
  counts.blobBytes += r.blobBytes;
  if (r.digestChecked) counts.digestsChecked++;
  if (r.decrypted) counts.filesDecrypted++;
  counts.decryptedBytes += r.decryptedBytes;
}

export interface FileCheckerOptions {
  check: RowCheckOptions;
  /** Regular files to check in all (for progress). */
  filesTotal: number;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: VerifyProgress) => void;
  /**
   * Files the iPhone said it could not read to the end when they were backed up, by blob name
   * (`xx/<fileID>`), with its words: their blobs hold what it sent, so a wrong size or a failed
   * decryption there is no damage on this computer (one warning instead).
   */
  unreadable?: ReadonlyMap<string, string>;
}

function unreadableOnDevice(file: StoredFile, reason: string): BackupProblem {
  const why = reason === '' ? '' : ` (it said: ${reason})`;
  return {
    code: 'UNREADABLE_ON_DEVICE',
    message: `${file.name}: the iPhone could not read this file to the end when it was backed up${why}; the backup holds what it sent.`,
    path: file.name,
    severity: 'warning',
  };
}

/** Checks stored files in batches of `concurrency` while the caller walks the index. */
export class FileChecker {
  private batch: StoredFile[] = [];
  private filesDone = 0;
  private bytesDone = 0;
  private readonly concurrency: number;

  constructor(
    private readonly out: Collector,
    private readonly counts: VerifyCounts,
    private readonly options: FileCheckerOptions,
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 16);
  }

  /** Queues a file; checks the queue when it is full. */
  async add(file: StoredFile): Promise<void> {
    this.counts.bytes += file.size ?? 0;
    this.batch.push(file);
    if (this.batch.length >= this.concurrency) {
      cancelled(this.options.signal);
      await this.flush();
    }
  }

  /** Checks what is queued. */
  async flush(): Promise<void> {
    const files = this.batch;
    this.batch = [];
    const results = await Promise.all(files.map((f) => checkStoredFile(f, this.options.check)));
    for (const [i, r] of results.entries()) {
      const file = files[i] as StoredFile;
      const reason = this.options.unreadable?.get(file.blobName);
      if (reason !== undefined && r.problems.some((p) => p.severity === 'error'))
        r.problems = [unreadableOnDevice(file, reason)];
      for (const p of r.problems) this.out.add(p);
      tallyFile(this.counts, r);
      this.filesDone++;
      this.bytesDone += file.size ?? 0;
      this.options.onProgress?.({
        phase: 'verify',
        filesDone: this.filesDone,
        filesTotal: this.options.filesTotal,
        bytesDone: this.bytesDone,
        currentPath: file.name,
      });
    }
  }
}
