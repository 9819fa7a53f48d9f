/**
 * Cryptographic primitives of encrypted backups (no I/O):
 * - password → KEK: PBKDF2-HMAC-SHA256 over DPSL/DPIC (iOS 10.2+ keybags), then PBKDF2-HMAC-SHA1
 *   over SALT/ITER, 32 bytes;
 * - RFC 3394 AES key wrap / unwrap (default IV A6A6A6A6A6A6A6A6);
 * - AES-256-CBC with a zero IV and PKCS#7 padding, one-shot and incremental, for file blobs and
 *   Manifest.db.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hash,
  pbkdf2,
  pbkdf2Sync,
  randomBytes as nodeRandomBytes,
} from 'node:crypto';
import type { Cipher, Decipher } from 'node:crypto';
import { decodeError, IbackupError } from '../errors.js';
import { concatBytes } from './bytes.js';

/** Length of the KEK, class keys, file keys and the Manifest.db key. */
export const KEY_BYTES = 32;
/** AES block size. */
export const AES_BLOCK_BYTES = 16;
/** Upper bound on PBKDF2 iterations taken from a keybag (real ones use 10 000 000 at most). */
export const MAX_KDF_ITERATIONS = 100_000_000;

const ZERO_IV = new Uint8Array(AES_BLOCK_BYTES);
const WRAP_IV = new Uint8Array([0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6]);

/** The key-derivation parameters of a keybag. */
export interface KdfParams {
  /** `SALT`: salt of the SHA-1 stage. */
  salt: Uint8Array;
  /** `ITER`: iterations of the SHA-1 stage. */
  iterations: number;
  /** `DPSL`: salt of the SHA-256 stage; present together with `dpic` on iOS 10.2+ backups. */
  dpsl?: Uint8Array;
  /** `DPIC`: iterations of the SHA-256 stage. */
  dpic?: number;
}

/** Views a Buffer as a plain Uint8Array (same memory), so results compare equal to Uint8Arrays. */
function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function passwordBytes(password: string | Uint8Array): Uint8Array {
  return typeof password === 'string' ? new TextEncoder().encode(password) : password;
}

function checkIterations(n: number, tag: string): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_KDF_ITERATIONS) {
    throw decodeError(`keybag ${tag} of ${n} iterations is out of range (1…${MAX_KDF_ITERATIONS})`);
  }
  return n;
}

/** The SHA-256 stage, or undefined when the keybag has none (before iOS 10.2). */
function firstStage(params: KdfParams): { salt: Uint8Array; iterations: number } | undefined {
  const { dpsl, dpic } = params;
  if (dpsl === undefined && dpic === undefined) return undefined;
  if (dpsl === undefined || dpic === undefined) throw decodeError('keybag has only one of DPSL and DPIC');
  return { salt: dpsl, iterations: checkIterations(dpic, 'DPIC') };
}

/** Password → 32-byte KEK, blocking (use `deriveKekAsync` on a server or in the CLI). */
export function deriveKek(password: string | Uint8Array, params: KdfParams): Uint8Array {
  const iterations = checkIterations(params.iterations, 'ITER');
  const first = firstStage(params);
  let k1 = passwordBytes(password);
  if (first !== undefined) k1 = plain(pbkdf2Sync(k1, first.salt, first.iterations, KEY_BYTES, 'sha256'));
  return plain(pbkdf2Sync(k1, params.salt, iterations, KEY_BYTES, 'sha1'));
}

function pbkdf2Async(pw: Uint8Array, salt: Uint8Array, iterations: number, digest: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    pbkdf2(pw, salt, iterations, KEY_BYTES, digest, (err, key) => (err ? reject(err) : resolve(plain(key))));
  });
}

/** Password → 32-byte KEK on the libuv thread pool, so the event loop keeps running. */
export async function deriveKekAsync(password: string | Uint8Array, params: KdfParams): Promise<Uint8Array> {
  const iterations = checkIterations(params.iterations, 'ITER');
  const first = firstStage(params);
  let k1 = passwordBytes(password);
  if (first !== undefined) k1 = await pbkdf2Async(k1, first.salt, first.iterations, 'sha256');
  return pbkdf2Async(k1, params.salt, iterations, 'sha1');
}

function wrapCipherName(kek: Uint8Array): string {
  if (kek.length !== 16 && kek.length !== 24 && kek.length !== 32) {
    throw new IbackupError('INTERNAL', { message: `AES key-wrap KEK must be 16, 24 or 32 bytes, not ${kek.length}.` });
  }
  return `id-aes${kek.length * 8}-wrap`;
}

/** RFC 3394 wrap of `key` (a multiple of 8 bytes, at least 16) with `kek`. */
export function aesWrap(kek: Uint8Array, key: Uint8Array): Uint8Array {
  if (key.length < 16 || key.length % 8 !== 0) {
    throw new IbackupError('INTERNAL', {
      message: `AES key-wrap input must be a multiple of 8 bytes ≥ 16, not ${key.length}.`,
    });
  }
  const c = createCipheriv(wrapCipherName(kek), kek, WRAP_IV);
  return concatBytes([c.update(key), c.final()]);
}

/**
 * RFC 3394 unwrap. Returns null when the integrity check fails (wrong KEK: for a class key, a wrong
 * password). A `wrapped` value that is not a multiple of 8 bytes ≥ 24 throws PROTOCOL_DECODE.
 */
export function aesUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array | null {
  const name = wrapCipherName(kek);
  if (wrapped.length < 24 || wrapped.length % 8 !== 0) {
    throw decodeError(`wrapped key of ${wrapped.length} bytes (must be a multiple of 8, at least 24)`);
  }
  try {
    const d = createDecipheriv(name, kek, WRAP_IV);
    return concatBytes([d.update(wrapped), d.final()]);
  } catch {
    return null;
  }
}

function checkCbc(key: Uint8Array, iv: Uint8Array): void {
  if (key.length !== KEY_BYTES) {
    throw new IbackupError('INTERNAL', { message: `AES-256 key must be 32 bytes, not ${key.length}.` });
  }
  if (iv.length !== AES_BLOCK_BYTES) {
    throw new IbackupError('INTERNAL', { message: `AES-CBC IV must be 16 bytes, not ${iv.length}.` });
  }
}

/** Ciphertext length of `plainLength` bytes: PKCS#7 always adds 1–16 bytes. */
export function cbcPaddedLength(plainLength: number): number {
  return (Math.floor(plainLength / AES_BLOCK_BYTES) + 1) * AES_BLOCK_BYTES;
}

/** AES-256-CBC encryption with PKCS#7 padding (IV defaults to 16 zero bytes). */
export function aesCbcEncrypt(key: Uint8Array, plaintext: Uint8Array, iv: Uint8Array = ZERO_IV): Uint8Array {
  const e = new CbcEncryptor(key, iv);
  return concatBytes([e.push(plaintext), e.finish()]);
}

/**
 * AES-256-CBC decryption that strips PKCS#7 padding (IV defaults to 16 zero bytes).
 * A length that is not a multiple of 16 or invalid padding throws PROTOCOL_DECODE.
 */
export function aesCbcDecrypt(key: Uint8Array, ciphertext: Uint8Array, iv: Uint8Array = ZERO_IV): Uint8Array {
  const d = new CbcDecryptor(key, iv);
  return concatBytes([d.push(ciphertext), d.finish()]);
}

/** AES-256-CBC decryption keeping the padding bytes (for callers that truncate to a known size). */
export function aesCbcDecryptRaw(key: Uint8Array, ciphertext: Uint8Array, iv: Uint8Array = ZERO_IV): Uint8Array {
  if (ciphertext.length % AES_BLOCK_BYTES !== 0) {
    throw decodeError(`AES-CBC ciphertext of ${ciphertext.length} bytes is not a multiple of 16`);
  }
  const d = new CbcDecryptor(key, iv, false);
  return concatBytes([d.push(ciphertext), d.finish()]);
}

/** Incremental AES-256-CBC + PKCS#7 encryption: `push` chunks, then `finish` once. */
export class CbcEncryptor {
  readonly #cipher: Cipher;

  constructor(key: Uint8Array, iv: Uint8Array = ZERO_IV) {
    checkCbc(key, iv);
    this.#cipher = createCipheriv('aes-256-cbc', key, iv);
  }

  push(chunk: Uint8Array): Uint8Array {
    return plain(this.#cipher.update(chunk));
  }

  /** The last block(s), including the padding. */
  finish(): Uint8Array {
    return plain(this.#cipher.final());
  }
}

/**
 * Incremental AES-256-CBC decryption: `push` chunks of any size, then `finish` once. With
 * `stripPadding` (the default) `finish` checks and removes PKCS#7 padding; a bad pad or a total
 * length that is not a multiple of 16 throws PROTOCOL_DECODE.
 */
export class CbcDecryptor {
  readonly #decipher: Decipher;
  #total = 0;

  constructor(key: Uint8Array, iv: Uint8Array = ZERO_IV, stripPadding = true) {
    checkCbc(key, iv);
    this.#decipher = createDecipheriv('aes-256-cbc', key, iv);
    this.#decipher.setAutoPadding(stripPadding);
  }

  push(chunk: Uint8Array): Uint8Array {
    this.#total += chunk.length;
    return plain(this.#decipher.update(chunk));
  }

  finish(): Uint8Array {
    if (this.#total % AES_BLOCK_BYTES !== 0) {
      throw decodeError(`AES-CBC ciphertext of ${this.#total} bytes is not a multiple of 16`);
    }
    try {
      return plain(this.#decipher.final());
    } catch (err) {
      throw decodeError('AES-CBC padding is invalid (wrong key or damaged data)', err);
    }
  }
}

/** SHA-1 of `data` (the MBFile `Digest`, fileIDs). */
export function sha1(data: Uint8Array | string): Uint8Array {
  return plain(createHash('sha1').update(data).digest());
}

/**
 * A backup file's ID: hex SHA-1 of `<domain>-<relativePath>` in UTF-8, lower case — what names its
 * blob and Manifest.db row (backup-format.md §5.2). One call per ID: a hash object costs three.
 */
export function fileIdOf(domain: string, relativePath: string): string {
  return hash('sha1', `${domain}-${relativePath}`, 'hex');
}

/** `n` bytes from the CSPRNG (keys, salts, UUIDs). */
export function randomBytes(n: number): Uint8Array {
  return plain(nodeRandomBytes(n));
}
