/**
 * The virtual iPhone's own record of what an unfinished backup run staged in the computer's
 * `Snapshot/` folder, kept in the device's state folder: per file, the version of the file that
 * was sent (version, mtime, ctime, size, inode: what its encryption key is derived from), a hash of
 * the EncryptionKey it was encrypted with (never the key), the size of the blob and its Digest —
 * written only once the host acknowledged the upload (status 0). It names the run by the UUID of
 * the Status.plist that run gave the host, so a record never applies to another computer's folder.
 *
 * The file is a header line and one line per staged file. A new run starts a new file (written
 * atomically: temporary file, fsync, rename); each acknowledged batch is appended. A line cut short
 * by a crash does not parse and is ignored: a file missing from the record is sent again, so a
 * lost line costs an upload, never correctness. The file goes when a run completes.
 */
import { createHash } from 'node:crypto';
import { appendFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeviceEntry } from '../../content/model.js';
import { readFileIfExists, writeFileAtomic } from '../../state-files.js';

export const STAGED_RECORD_FILE = 'backup-staged.jsonl';
const FORMAT = 'ibackup-staged-record';

/** One file an unfinished run staged, as the device recorded it. */
export interface StagedFile {
  fileId: string;
  version: number;
  mtime: number;
  ctime: number;
  size: number;
  inode: number;
  /** Bytes of the blob sent (padded length when encrypted). */
  blobSize: number;
  /** Hash of the MBFile EncryptionKey the blob was encrypted with; absent for a plain blob. */
  keyHash?: string;
  /** The blob's SHA-1 (hex), when the backup keeps one. */
  digest?: string;
}

/** What an unfinished run staged, and the Status.plist UUID it gave the host. */
export interface StagedRun {
  runUuid: string;
  files: Map<string, StagedFile>;
}

/** Where the device keeps its record (a file in its state folder, or memory in tests). */
export interface StagedRecordStore {
  load(): Promise<StagedRun | null>;
  /** Starts the record of a new run, keeping the files it reuses from the run before. */
  begin(runUuid: string, kept: readonly StagedFile[]): Promise<void>;
  /** Adds files whose upload the host acknowledged in run `runUuid` (ignored once another run began). */
  add(runUuid: string, files: readonly StagedFile[]): Promise<void>;
  /** Forgets everything (a run completed). */
  clear(): Promise<void>;
}

/** A hash naming an EncryptionKey (SHA-256 of the wrapped key as the MBFile carries it, 128 bits). */
export function encryptionKeyHash(encryptionKey: Uint8Array | undefined): string | undefined {
  return encryptionKey === undefined
    ? undefined
    : createHash('sha256').update(encryptionKey).digest('hex').slice(0, 32);
}

/** The record of a file staged now. */
export function stagedFileOf(
  fileId: string,
  e: DeviceEntry,
  blobSize: number,
  encryptionKey?: Uint8Array,
  digest?: Uint8Array,
): StagedFile {
  const keyHash = encryptionKeyHash(encryptionKey);
  return {
    fileId,
    version: e.version,
    mtime: e.mtime,
    ctime: e.ctime,
    size: e.size,
    inode: e.inode,
    blobSize,
    ...(keyHash === undefined ? {} : { keyHash }),
    ...(digest === undefined ? {} : { digest: Buffer.from(digest).toString('hex') }),
  };
}

/**
 * Whether the recorded blob is the one the file would be sent as now: the same version of the
 * file, encrypted with the same key (or plain, as now), of the same size.
 */
export function matchesStaged(rec: StagedFile, now: StagedFile): boolean {
  return (
    rec.fileId === now.fileId &&
    rec.version === now.version &&
    rec.mtime === now.mtime &&
    rec.ctime === now.ctime &&
    rec.size === now.size &&
    rec.inode === now.inode &&
    rec.blobSize === now.blobSize &&
    rec.keyHash === now.keyHash
  );
}

/** The record in a file of the device's state folder. */
export class StagedRecordFile implements StagedRecordStore {
  private readonly path: string;
  /** The run whose record the file holds now (one backup runs at a time, as on a phone). */
  private current: string | undefined;

  constructor(stateDir: string) {
    this.path = join(stateDir, STAGED_RECORD_FILE);
  }

  async load(): Promise<StagedRun | null> {
    const bytes = await readFileIfExists(this.path);
    return bytes === null ? null : parseStagedRecord(new TextDecoder().decode(bytes));
  }

  async begin(runUuid: string, kept: readonly StagedFile[]): Promise<void> {
    const lines = [JSON.stringify({ format: FORMAT, version: 1, run: runUuid }), ...kept.map(lineOf)];
    this.current = runUuid;
    await writeFileAtomic(this.path, `${lines.join('\n')}\n`);
  }

  async add(runUuid: string, files: readonly StagedFile[]): Promise<void> {
    if (files.length === 0 || runUuid !== this.current) return;
    await appendFile(this.path, `${files.map(lineOf).join('\n')}\n`, { mode: 0o600 });
  }

  async clear(): Promise<void> {
    this.current = undefined;
    await rm(this.path, { force: true });
  }
}

function lineOf(f: StagedFile): string {
  return JSON.stringify([
    f.fileId,
    f.version,
    f.mtime,
    f.ctime,
    f.size,
    f.inode,
    f.blobSize,
    f.keyHash ?? null,
    f.digest ?? null,
  ]);
}

/** Reads a record; null when its header is unusable. Lines that do not parse are skipped. */
export function parseStagedRecord(text: string): StagedRun | null {
  const lines = text.split('\n');
  // The text after the last newline is a line a crash cut short.
  lines.pop();
  const header = parseJson(lines[0] ?? '');
  if (!isRecord(header) || header.format !== FORMAT || header.version !== 1 || typeof header.run !== 'string')
    return null;
  const files = new Map<string, StagedFile>();
  for (const line of lines.slice(1)) {
    const f = fileOfLine(parseJson(line));
    if (f) files.set(f.fileId, f);
  }
  return { runUuid: header.run, files };
}

function fileOfLine(v: unknown): StagedFile | undefined {
  if (!Array.isArray(v) || v.length !== 9) return undefined;
  const [fileId, version, mtime, ctime, size, inode, blobSize, keyHash, digest] = v as unknown[];
  if (typeof fileId !== 'string' || !/^[0-9a-f]{40}$/.test(fileId)) return undefined;
  const nums = [version, mtime, ctime, size, inode, blobSize];
  if (!nums.every((n): n is number => typeof n === 'number' && Number.isFinite(n))) return undefined;
  if ((keyHash !== null && typeof keyHash !== 'string') || (digest !== null && typeof digest !== 'string'))
    return undefined;
  const [ver, mt, ct, sz, ino, blob] = nums as number[];
  return {
    fileId,
    version: ver as number,
    mtime: mt as number,
    ctime: ct as number,
    size: sz as number,
    inode: ino as number,
    blobSize: blob as number,
    ...(typeof keyHash === 'string' ? { keyHash } : {}),
    ...(typeof digest === 'string' ? { digest } : {}),
  };
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
