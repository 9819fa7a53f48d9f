/**
 * The checks `verify` makes on one Manifest.db row and its blob: well-formed row (fileID =
 * SHA-1 of "<domain>-<relativePath>", flags 1/2/4, decodable MBFile, safe path), blob present
 * with the size its MBFile records (for an encrypted backup the PKCS#7-padded size,
 * backup-format.md §6.8), Digest = SHA-1 of the stored blob where recorded (§6.9), and
 * optionally a full decryption whose plaintext length is compared with Size.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isIbackupError } from '../errors.js';
import { cbcPaddedLength, CbcDecryptor } from '../protocol/crypto.js';
import { fileKeyOf } from './crypto/decrypt.js';
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

export interface RowCheckResult {
  problems: BackupProblem[];
  blobChecked: boolean;
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

/** Checks the row itself (no file system access). */
export function checkRowShape(row: ManifestRow, encrypted: boolean): BackupProblem[] {
  const name = `${row.domain}/${row.relativePath}`;
  const out: BackupProblem[] = [];
  const add = (code: ProblemCode, message: string): void => {
    out.push({ code, message: `${name}: ${message}`, path: name, severity: 'error' });
  };
  for (const p of row.columnProblems ?? []) add('BAD_COLUMN', `${p}.`);
  if (!isWellFormedFileID(row.fileID)) add('BAD_FILE_ID', `the fileID ${JSON.stringify(row.fileID)} is not 40 lower-case hex digits.`);
  else {
    const expected = expectedFileID(row.domain, row.relativePath);
    if (expected !== row.fileID) add('BAD_FILE_ID', `the fileID ${row.fileID} should be ${expected} (SHA-1 of domain-relativePath).`);
  }
  if (row.kind === 'unknown') add('BAD_FLAGS', `flags ${row.flags} is not 1 (file), 2 (directory) or 4 (symlink).`);
  if (row.fileError !== undefined) add('BAD_MBFILE', `${row.fileError}`);
  const unsafe = unsafeRelativePathReason(row.relativePath);
  if (unsafe !== undefined) add('UNSAFE_PATH', `the relative path ${unsafe}.`);
  if (row.domain === '' || row.domain.includes('/') || row.domain.includes('\0') || row.domain === '..' || row.domain === '.') {
    add('UNSAFE_PATH', `the domain ${JSON.stringify(row.domain)} is not a valid domain name.`);
  }
  const f = row.file;
  if (f !== undefined) {
    if (f.relativePath !== undefined && f.relativePath !== row.relativePath) {
      add('BAD_MBFILE', `the record's RelativePath ${JSON.stringify(f.relativePath)} differs from the row's.`);
    }
    if (f.digest !== undefined && f.digest.length !== DIGEST_BYTES) add('BAD_MBFILE', `the Digest is ${f.digest.length} bytes, not 20.`);
    if (row.kind === 'file' && encrypted && f.encryptionKey === undefined) add('KEY_MISSING', 'the file has no EncryptionKey in an encrypted backup.');
    if (row.kind === 'file' && f.size === undefined) add('BAD_MBFILE', 'the record has no Size.');
  }
  return out;
}

/** Checks a regular file's blob (and decrypts it when asked). */
export async function checkBlob(row: ManifestRow, options: RowCheckOptions): Promise<RowCheckResult> {
  const name = `${row.domain}/${row.relativePath}`;
  const r: RowCheckResult = {
    problems: [],
    blobChecked: false,
    blobMissing: false,
    blobBytes: 0,
    digestChecked: false,
    decrypted: false,
    decryptedBytes: 0,
  };
  const add = (code: ProblemCode, message: string, severity: 'error' | 'warning' = 'error'): void => {
    r.problems.push({ code, message: `${name}: ${message}`, path: name, severity });
  };
  if (row.kind !== 'file' || row.blobPath === undefined) return r;
  let size: number;
  try {
    const st = await stat(row.blobPath);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOENT' });
    size = st.size;
  } catch (err) {
    r.blobMissing = true;
    const why = (err as { code?: unknown }).code === 'ENOENT' ? 'is missing' : `cannot be read (${messageOf(err)})`;
    add('BLOB_MISSING', `its file ${row.fileID.slice(0, 2)}/${row.fileID} ${why}.`);
    return r;
  }
  r.blobChecked = true;
  r.blobBytes = size;
  const f = row.file;
  const recorded = f?.size === undefined ? undefined : Number(f.size);

  // Size of the stored blob.
  let paddedMismatch = false;
  if (recorded !== undefined) {
    if (!options.encrypted) {
      if (size !== recorded) add('BLOB_SIZE', `its file is ${size} bytes, the manifest records ${recorded}.`);
    } else if (size === 0 || size % 16 !== 0) {
      add('BLOB_SIZE', `its encrypted file is ${size} bytes, not a non-zero multiple of 16.`);
    } else if (size !== cbcPaddedLength(recorded)) {
      paddedMismatch = true;
    }
  }

  const wantDigest = options.checkDigests && f?.digest !== undefined && f.digest.length === DIGEST_BYTES;
  let key: Uint8Array | undefined;
  if (options.decrypt && options.encrypted && options.keys !== undefined && f?.encryptionKey !== undefined && size % 16 === 0 && size > 0) {
    try {
      key = fileKeyOf(options.keys, row);
    } catch (err) {
      add('DECRYPT_FAILED', `its key cannot be unwrapped (${messageOf(err)}).`);
    }
  }
  if (!wantDigest && key === undefined) {
    if (paddedMismatch) add('BLOB_SIZE', `its encrypted file is ${size} bytes, ${cbcPaddedLength(recorded ?? 0)} expected for ${recorded} bytes of content.`);
    return r;
  }

  // One pass over the blob: Digest and decryption together.
  const hash = wantDigest ? createHash('sha1') : undefined;
  const decryptor = key === undefined ? undefined : new CbcDecryptor(key);
  let plain = 0;
  let decryptOk = decryptor !== undefined;
  try {
    for await (const chunk of createReadStream(row.blobPath, { highWaterMark: 1 << 20 })) {
      const c = chunk as Uint8Array;
      hash?.update(c);
      if (decryptor !== undefined) plain += decryptor.push(c).length;
    }
  } catch (err) {
    add('BLOB_MISSING', `its file cannot be read (${messageOf(err)}).`);
    return r;
  }
  if (decryptor !== undefined) {
    try {
      plain += decryptor.finish().length;
      r.decrypted = true;
      r.decryptedBytes = plain;
    } catch {
      decryptOk = false;
      add('DECRYPT_FAILED', 'its file does not decrypt (invalid padding: damaged, or encrypted with another key).');
    }
  }
  if (hash !== undefined && f?.digest !== undefined) {
    r.digestChecked = true;
    const got = hash.digest('hex');
    const want = hex(f.digest);
    if (got !== want) add('DIGEST_MISMATCH', `its file's SHA-1 is ${got}, the manifest records ${want}.`);
  }
  if (paddedMismatch) {
    // A file that changed while it was backed up still decrypts with valid padding (§6.8).
    if (decryptOk) add('SIZE_CHANGED', `its content is ${plain} bytes, the manifest records ${recorded} (changed during the backup?).`, 'warning');
    else add('BLOB_SIZE', `its encrypted file is ${size} bytes, ${cbcPaddedLength(recorded ?? 0)} expected for ${recorded} bytes of content.`);
  } else if (decryptOk && recorded !== undefined && plain !== recorded) {
    add('SIZE_CHANGED', `its content is ${plain} bytes, the manifest records ${recorded}.`, 'warning');
  }
  return r;
}
