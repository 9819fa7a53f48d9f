/**
 * The checks `verify` makes on one Manifest.db row and on the stored copy (blob) of any regular
 * file, whatever its index: well-formed row (fileID = SHA-1 of "<domain>-<relativePath>", flags
 * 1/2/4, decodable MBFile, safe path), blob present with the size its record gives (for an
 * encrypted backup the PKCS#7-padded size, backup-format.md §6.8), Digest = SHA-1 of the stored
 * blob where recorded (§6.9, the same for Manifest.mbdb records), and optionally a full
 * decryption whose plaintext length is compared with Size.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isIbackupError } from '../errors.js';
import { cbcPaddedLength, CbcDecryptor } from '../protocol/crypto.js';
import { unwrapClassWrappedKey } from './crypto/keybag-unlock.js';
import type { UnlockedKeybag } from './crypto/keybag-unlock.js';
import type { BackupProblem, ProblemCode } from './folder.js';
import { expectedFileID, isWellFormedFileID, unsafeRelativePathReason } from './manifest-rows.js';
import type { ManifestRow } from './manifest-rows.js';

export interface RowCheckOptions {
  /** Unlocked keys of an encrypted backup (undefined: unencrypted). */
  keys: UnlockedKeybag | undefined;
  encrypted: boolean;
  /** Decrypt the whole file (encrypted backups, needs keys). */
  decrypt: boolean;
  /** Compare the recorded Digest with the blob. */
  checkDigests: boolean;
}

/** A regular file as the blob checks see it, from a Manifest.db row or a Manifest.mbdb record. */
export interface StoredFile {
  /** `<domain>/<relativePath>`, naming the file in problems. */
  name: string;
  /** The blob as named in messages: `xx/<fileID>` (Manifest.db) or `<fileID>` (flat, Manifest.mbdb). */
  blobName: string;
  /** Where the blob is; undefined when its name cannot be made (a malformed fileID). */
  blobPath: string | undefined;
  /** The recorded Size (plaintext bytes). */
  size: number | undefined;
  /** The recorded Digest. */
  digest: Uint8Array | undefined;
  /** LE u32 class ‖ wrapped file key (encrypted backups). */
  encryptionKey: Uint8Array | undefined;
}

export interface RowCheckResult {
  problems: BackupProblem[];
  /** The blob was found (and checked). */
  blobChecked: boolean;
  /** The blob is not there (BLOB_MISSING reported). */
  blobMissing: boolean;
  blobBytes: number;
  digestChecked: boolean;
  decrypted: boolean;
  decryptedBytes: number;
}

const DIGEST_BYTES = 20;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function messageOf(err: unknown): string {
  return isIbackupError(err) || err instanceof Error ? err.message : String(err);
}

/** Why a domain name cannot be used in a path, or undefined when it can. */
export function unsafeDomainReason(domain: string): string | undefined {
  const bad = domain === '' || domain.includes('/') || domain.includes('\0') || domain === '..' || domain === '.';
  return bad ? `the domain ${JSON.stringify(domain)} is not a valid domain name` : undefined;
}

/** Checks the row itself (no file system access). */
export function checkRowShape(row: ManifestRow, encrypted: boolean): BackupProblem[] {
  const name = `${row.domain}/${row.relativePath}`;
  const out: BackupProblem[] = [];
  const add = (code: ProblemCode, message: string): void => {
    out.push({ code, message: `${name}: ${message}`, path: name, severity: 'error' });
  };
  for (const p of row.columnProblems ?? []) add('BAD_COLUMN', `${p}.`);
  if (!isWellFormedFileID(row.fileID))
    add('BAD_FILE_ID', `the fileID ${JSON.stringify(row.fileID)} is not 40 lower-case hex digits.`);
  else {
    const expected = expectedFileID(row.domain, row.relativePath);
    if (expected !== row.fileID)
      add('BAD_FILE_ID', `the fileID ${row.fileID} should be ${expected} (SHA-1 of domain-relativePath).`);
  }
  if (row.kind === 'unknown') add('BAD_FLAGS', `flags ${row.flags} is not 1 (file), 2 (directory) or 4 (symlink).`);
  if (row.fileError !== undefined) add('BAD_MBFILE', `${row.fileError}`);
  const unsafe = unsafeRelativePathReason(row.relativePath);
  if (unsafe !== undefined) add('UNSAFE_PATH', `the relative path ${unsafe}.`);
  const badDomain = unsafeDomainReason(row.domain);
  if (badDomain !== undefined) add('UNSAFE_PATH', `${badDomain}.`);
  const f = row.file;
  if (f !== undefined) {
    if (f.relativePath !== undefined && f.relativePath !== row.relativePath) {
      add('BAD_MBFILE', `the record's RelativePath ${JSON.stringify(f.relativePath)} differs from the row's.`);
    }
    if (f.digest !== undefined && f.digest.length !== DIGEST_BYTES)
      add('BAD_MBFILE', `the Digest is ${f.digest.length} bytes, not 20.`);
    if (row.kind === 'file' && encrypted && f.encryptionKey === undefined)
      add('KEY_MISSING', 'the file has no EncryptionKey in an encrypted backup.');
    if (row.kind === 'file' && f.size === undefined) add('BAD_MBFILE', 'the record has no Size.');
  }
  return out;
}

/** The stored file of a Manifest.db row of a regular file (undefined for other rows). */
export function storedFileOfRow(row: ManifestRow): StoredFile | undefined {
  if (row.kind !== 'file') return undefined;
  const f = row.file;
  return {
    name: `${row.domain}/${row.relativePath}`,
    blobName: `${row.fileID.slice(0, 2)}/${row.fileID}`,
    blobPath: row.blobPath,
    size: f?.size === undefined ? undefined : Number(f.size),
    digest: f?.digest,
    encryptionKey: f?.encryptionKey,
  };
}

function emptyResult(): RowCheckResult {
  return {
    problems: [],
    blobChecked: false,
    blobMissing: false,
    blobBytes: 0,
    digestChecked: false,
    decrypted: false,
    decryptedBytes: 0,
  };
}

/** Checks a regular file's blob (and decrypts it when asked). */
export async function checkBlob(row: ManifestRow, options: RowCheckOptions): Promise<RowCheckResult> {
  const file = storedFileOfRow(row);
  return file === undefined ? emptyResult() : checkStoredFile(file, options);
}

type Add = (code: ProblemCode, message: string, severity?: 'error' | 'warning') => void;

/** The blob's size on disk, or undefined (BLOB_MISSING reported) when it is not there. */
async function blobSize(file: StoredFile, blobPath: string, add: Add): Promise<number | undefined> {
  try {
    const st = await stat(blobPath);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOENT' });
    return st.size;
  } catch (err) {
    const why = (err as { code?: unknown }).code === 'ENOENT' ? 'is missing' : `cannot be read (${messageOf(err)})`;
    add('BLOB_MISSING', `its file ${file.blobName} ${why}.`);
    return undefined;
  }
}

/**
 * Compares the blob's size with the recorded Size: equal for a plain backup, the PKCS#7-padded
 * size for an encrypted one. Returns true when an encrypted blob has a padded size other than
 * expected (decided after decryption: a file that changed while backed up, or a damaged one).
 */
function checkSize(size: number, recorded: number | undefined, encrypted: boolean, add: Add): boolean {
  if (recorded === undefined) return false;
  if (!encrypted) {
    if (size !== recorded) add('BLOB_SIZE', `its file is ${size} bytes, the manifest records ${recorded}.`);
    return false;
  }
  if (size === 0 || size % 16 !== 0) {
    add('BLOB_SIZE', `its encrypted file is ${size} bytes, not a non-zero multiple of 16.`);
    return false;
  }
  return size !== cbcPaddedLength(recorded);
}

/** The file key when the blob is to be decrypted (DECRYPT_FAILED when it cannot be unwrapped). */
function fileKeyToDecrypt(file: StoredFile, size: number, options: RowCheckOptions, add: Add): Uint8Array | undefined {
  if (!options.decrypt || !options.encrypted || options.keys === undefined || file.encryptionKey === undefined)
    return undefined;
  if (size === 0 || size % 16 !== 0) return undefined;
  try {
    return unwrapClassWrappedKey(options.keys, file.encryptionKey, file.name);
  } catch (err) {
    add('DECRYPT_FAILED', `its key cannot be unwrapped (${messageOf(err)}).`);
    return undefined;
  }
}

interface ReadThrough {
  /** SHA-1 of the blob, hex, when asked for. */
  sha1?: string;
  /** Plaintext bytes when decrypted with valid padding. */
  plain?: number;
  /** True when decryption was tried and the padding was invalid. */
  badPadding: boolean;
}

/** One pass over the blob: its SHA-1 and its decryption together. Undefined when it cannot be read. */
async function readThrough(
  blobPath: string,
  hashIt: boolean,
  key: Uint8Array | undefined,
  add: Add,
): Promise<ReadThrough | undefined> {
  const hash = hashIt ? createHash('sha1') : undefined;
  const decryptor = key === undefined ? undefined : new CbcDecryptor(key);
  let plain = 0;
  try {
    for await (const chunk of createReadStream(blobPath, { highWaterMark: 1 << 20 })) {
      const c = chunk as Uint8Array;
      hash?.update(c);
      if (decryptor !== undefined) plain += decryptor.push(c).length;
    }
  } catch (err) {
    add('BLOB_MISSING', `its file cannot be read (${messageOf(err)}).`);
    return undefined;
  }
  const out: ReadThrough = { badPadding: false, ...(hash === undefined ? {} : { sha1: hash.digest('hex') }) };
  if (decryptor === undefined) return out;
  try {
    out.plain = plain + decryptor.finish().length;
  } catch {
    out.badPadding = true;
    add('DECRYPT_FAILED', 'its file does not decrypt (invalid padding: damaged, or encrypted with another key).');
  }
  return out;
}

/** Checks a stored file: present, its size, its Digest, and its decryption when asked. */
export async function checkStoredFile(file: StoredFile, options: RowCheckOptions): Promise<RowCheckResult> {
  const r = emptyResult();
  const add: Add = (code, message, severity = 'error') => {
    r.problems.push({ code, message: `${file.name}: ${message}`, path: file.name, severity });
  };
  if (file.blobPath === undefined) return r;
  const size = await blobSize(file, file.blobPath, add);
  if (size === undefined) {
    r.blobMissing = true;
    return r;
  }
  r.blobChecked = true;
  r.blobBytes = size;
  const recorded = file.size;
  const paddedMismatch = checkSize(size, recorded, options.encrypted, add);
  const paddedProblem = (): void =>
    add(
      'BLOB_SIZE',
      `its encrypted file is ${size} bytes, ${cbcPaddedLength(recorded ?? 0)} expected for ${recorded} bytes of content.`,
    );
  const digest =
    options.checkDigests && file.digest !== undefined && file.digest.length === DIGEST_BYTES ? file.digest : undefined;
  const key = fileKeyToDecrypt(file, size, options, add);
  if (digest === undefined && key === undefined) {
    if (paddedMismatch) paddedProblem();
    return r;
  }
  const read = await readThrough(file.blobPath, digest !== undefined, key, add);
  if (read === undefined) return r;
  if (read.plain !== undefined) {
    r.decrypted = true;
    r.decryptedBytes = read.plain;
  }
  if (digest !== undefined && read.sha1 !== undefined) {
    r.digestChecked = true;
    if (read.sha1 !== hex(digest))
      add('DIGEST_MISMATCH', `its file's SHA-1 is ${read.sha1}, the manifest records ${hex(digest)}.`);
  }
  if (paddedMismatch) {
    // A file that changed while it was backed up still decrypts with valid padding (§6.8).
    if (read.plain !== undefined)
      add(
        'SIZE_CHANGED',
        `its content is ${read.plain} bytes, the manifest records ${recorded} (changed during the backup?).`,
        'warning',
      );
    else paddedProblem();
  } else if (read.plain !== undefined && recorded !== undefined && read.plain !== recorded) {
    add('SIZE_CHANGED', `its content is ${read.plain} bytes, the manifest records ${recorded}.`, 'warning');
  }
  return r;
}
