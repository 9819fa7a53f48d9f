/**
 * Decryption of a file the device restores from an encrypted backup. A whole blob must end with
 * valid PKCS#7 padding (else it is not this file's key, or it is damaged). A blob shorter than its
 * recorded size is one the phone could not read to its end when it backed the file up (iOS 17+:
 * unreadable.ts; pymobiledevice3 issue 755 says such a backup is still usable): its whole blocks
 * are restored as they are. What a phone does with such a file on restore is not documented; this
 * is our model — the file gets the bytes the backup holds, as a plain backup's would.
 */
import { CbcDecryptor, cbcPaddedLength } from '../../../protocol/crypto.js';

const BLOCK = 16;

export class RestoreDecryptor {
  private readonly cbc: CbcDecryptor;
  private readonly paddedSize: number;
  /** The last block of plaintext, held back until it is known whether it is padding. */
  private tail: Uint8Array = new Uint8Array(0);
  private received = 0;

  constructor(key: Uint8Array, recordedSize: number) {
    this.cbc = new CbcDecryptor(key, undefined, false);
    this.paddedSize = cbcPaddedLength(recordedSize);
  }

  /** Plaintext that can be written now. */
  push(bytes: Uint8Array): Uint8Array {
    this.received += bytes.length;
    const plain = this.cbc.push(bytes);
    if (plain.length === 0) return plain;
    const all = this.tail.length === 0 ? plain : Buffer.concat([this.tail, plain]);
    const keep = Math.min(BLOCK, all.length);
    this.tail = all.slice(all.length - keep);
    return all.subarray(0, all.length - keep);
  }

  /** The rest of the plaintext; throws when a whole blob's padding is invalid. */
  finish(): Uint8Array {
    this.cbc.finish(); // throws when the blob is not made of whole blocks
    if (this.received < this.paddedSize) return this.tail;
    const n = this.tail[this.tail.length - 1] ?? 0;
    const valid =
      this.tail.length === BLOCK && n >= 1 && n <= BLOCK && this.tail.subarray(BLOCK - n).every((b) => b === n);
    if (!valid) throw new Error('AES-CBC padding is invalid (wrong key or damaged data)');
    return this.tail.subarray(0, BLOCK - n);
  }
}
