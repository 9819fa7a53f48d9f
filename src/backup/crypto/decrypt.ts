/**
 * Decryption of an encrypted backup's contents (backup-format.md §6.7–§6.8): Manifest.db (one
 * AES-256-CBC stream under the ManifestKey, decrypted into memory or into a private 0700 temp
 * folder, never beside the backup) and file blobs (AES-256-CBC under the per-file key from
 * MBFile.EncryptionKey, zero IV, PKCS#7), streamed chunk by chunk with bounded memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { IbackupError, isIbackupError } from '../../errors.js';
import { AES_BLOCK_BYTES, CbcDecryptor } from '../../protocol/crypto.js';
import { MANIFEST_DB, ManifestDb } from '../manifest-db.js';
import type { ManifestDbOptions } from '../manifest-db.js';
import type { ManifestRow } from '../manifest-rows.js';
import { createPrivateTempDir } from '../temp.js';
import { unwrapClassWrappedKey } from './keybag-unlock.js';
import type { UnlockedKeybag } from './keybag-unlock.js';

/** Encrypted Manifest.db files up to this size are decrypted in memory by default. */
export const MAX_IN_MEMORY_MANIFEST_BYTES = 256 << 20;
/** Read size for blobs (one buffer per open blob, reused for every read). */
const CHUNK_BYTES = 1 << 20;
/**
 * Ciphertext handed to OpenSSL per call. Each call returns a fresh output buffer; above the C
 * allocator's mmap threshold (128 KiB by default) every such buffer costs page faults, which on
 * a typical machine makes a 1 MiB call several times slower per byte than a 128 KiB one.
 */
const DECRYPT_SLICE_BYTES = 128 << 10;

export interface DecryptManifestOptions extends ManifestDbOptions {
  /** 'memory', 'temp' (a private 0700 folder), or 'auto' (memory up to 256 MiB). Default 'auto'. */
  mode?: 'memory' | 'temp' | 'auto';
}

function corrupt(message: string, cause?: unknown): IbackupError {
  return new IbackupError('BACKUP_CORRUPT', { message, ...(cause === undefined ? {} : { cause }) });
}

/** Unwraps the Manifest.db key from Manifest.plist's `ManifestKey`. */
export function manifestDbKey(keys: UnlockedKeybag, manifestKey: Uint8Array): Uint8Array {
  return unwrapClassWrappedKey(keys, manifestKey, 'Manifest.plist ManifestKey');
}

/** Decrypts and opens an encrypted Manifest.db. */
export async function openEncryptedManifestDb(
  dbPath: string,
  keys: UnlockedKeybag,
  manifestKey: Uint8Array,
  options: DecryptManifestOptions = {},
): Promise<ManifestDb> {
  const key = manifestDbKey(keys, manifestKey);
  const size = (await stat(dbPath)).size;
  if (size === 0 || size % AES_BLOCK_BYTES !== 0) {
    throw corrupt(`${MANIFEST_DB}: ${size} bytes is not an encrypted database (not a non-zero multiple of 16).`);
  }
  const mode = options.mode ?? 'auto';
  if (mode === 'memory' || (mode === 'auto' && size <= MAX_IN_MEMORY_MANIFEST_BYTES)) {
    const d = new CbcDecryptor(key);
    const head = d.push(await readFile(dbPath));
    const plain = concat2(head, finishOrCorrupt(d, MANIFEST_DB));
    return ManifestDb.fromPlaintext(plain, options);
  }
  const temp = createPrivateTempDir(options.tempParent);
  try {
    const out = path.join(temp.path, MANIFEST_DB);
    const ws = createWriteStream(out, { mode: 0o600 });
    const d = new CbcDecryptor(key);
    for await (const chunk of createReadStream(dbPath, { highWaterMark: CHUNK_BYTES })) {
      const p = d.push(chunk as Uint8Array);
      if (!ws.write(p)) await new Promise<void>((resolve) => ws.once('drain', () => resolve()));
    }
    ws.end(finishOrCorrupt(d, MANIFEST_DB));
    await finished(ws);
    return ManifestDb.openPrivateFile(out, temp, options);
  } catch (err) {
    temp.remove();
    throw err;
  }
}

function finishOrCorrupt(d: CbcDecryptor, what: string): Uint8Array {
  try {
    return d.finish();
  } catch (err) {
    throw corrupt(`${what}: decryption failed (${isIbackupError(err) ? err.message : 'bad padding'}).`, err);
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The per-file key of an encrypted regular file's row. */
export function fileKeyOf(keys: UnlockedKeybag, row: ManifestRow): Uint8Array {
  const what = `${row.domain}/${row.relativePath}`;
  const wrapped = row.file?.encryptionKey;
  if (wrapped === undefined) throw corrupt(`${what}: the file has no EncryptionKey.`);
  return unwrapClassWrappedKey(keys, wrapped, what);
}

/** How plaintext length is settled. */
export type SizePolicy =
  /** Strip and check PKCS#7 padding; the content may differ from Size (a file changed while backed up). */
  | 'padding'
  /** Ignore padding and cut the plaintext at Size. */
  | 'size';

export interface DecryptEnd {
  /** Plaintext bytes produced. */
  bytes: number;
  /** The MBFile Size, when given. */
  expectedSize?: number;
  /** True when no Size was given or the plaintext has exactly that length. */
  sizeMatches: boolean;
}

export interface DecryptChunksOptions {
  /** MBFile Size of the file. */
  size?: number | bigint;
  /** Default 'padding' (backup-format.md §6.8: prefer valid PKCS#7, warn on a size mismatch). */
  policy?: SizePolicy;
  /** Called once at the end with the plaintext length. */
  onEnd?: (end: DecryptEnd) => void;
  /** Names the file in errors. */
  what?: string;
}

/**
 * Decrypts an AES-256-CBC stream (zero IV) chunk by chunk. Invalid padding, or a length that is
 * not a multiple of 16, throws BACKUP_CORRUPT at the end (after the earlier chunks were yielded).
 */
export async function* decryptChunks(
  source: AsyncIterable<Uint8Array>,
  key: Uint8Array,
  options: DecryptChunksOptions = {},
): AsyncGenerator<Uint8Array> {
  const policy = options.policy ?? 'padding';
  const what = options.what ?? 'file';
  const expected = options.size === undefined ? undefined : Number(options.size);
  const d = new CbcDecryptor(key, undefined, policy === 'padding');
  let produced = 0;
  const emit = (p: Uint8Array): Uint8Array => {
    if (policy === 'size' && expected !== undefined) {
      const room = Math.max(0, expected - produced);
      if (p.length > room) p = p.subarray(0, room);
    }
    produced += p.length;
    return p;
  };
  for await (const chunk of source) {
    for (let at = 0; at < chunk.length; at += DECRYPT_SLICE_BYTES) {
      const p = emit(d.push(chunk.subarray(at, at + DECRYPT_SLICE_BYTES)));
      if (p.length > 0) yield p;
    }
  }
  const last = emit(finishOrCorrupt(d, what));
  if (last.length > 0) yield last;
  options.onEnd?.({
    bytes: produced,
    ...(expected === undefined ? {} : { expectedSize: expected }),
    sizeMatches: expected === undefined || produced === expected,
  });
}

/**
 * The bytes of a file, read into one reused buffer: each chunk is valid only until the next one
 * is asked for (decryption copies it at once), so a large blob costs one buffer, not one per read.
 */
async function* reusedReads(file: string, chunkBytes = CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = new Uint8Array(Math.max(AES_BLOCK_BYTES, Math.min(chunkBytes, size)));
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Streams the plaintext of an encrypted blob file. */
export function decryptFile(
  blobPath: string,
  key: Uint8Array,
  options: DecryptChunksOptions = {},
): AsyncGenerator<Uint8Array> {
  return decryptChunks(reusedReads(blobPath), key, options);
}

/** A Readable of an encrypted blob's plaintext. */
export function decryptFileStream(blobPath: string, key: Uint8Array, options: DecryptChunksOptions = {}): Readable {
  return Readable.from(decryptFile(blobPath, key, options), { objectMode: false });
}
