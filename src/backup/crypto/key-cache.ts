/**
 * The derived-key cache of `--save-key`: the 32-byte key (KEK) derived from a backup password is
 * kept at `<ibackup config dir>/keys/<keybag UUID in hex>` (folder 0700, file 0600), never beside
 * a backup, so later opens skip the slow password derivation (10 million PBKDF2 rounds). The key
 * opens only the backups whose keybag has that UUID; a password change makes a new keybag.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ibackupConfigDir, type PlatformEnv } from '../../app-dirs.js';
import { IbackupError } from '../../errors.js';

/** Length of a derived key (AES-256 KEK). */
export const DERIVED_KEY_BYTES = 32;

const HEX_KEY = /^[0-9a-f]{64}$/;

export interface KeyCacheOptions extends PlatformEnv {
  /** The keys folder itself (default `<config dir>/keys`). */
  dir?: string;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The keys folder: `<ibackupConfigDir()>/keys`. */
export function keysDir(options: KeyCacheOptions = {}): string {
  return options.dir ?? path.join(ibackupConfigDir(options), 'keys');
}

export class KeyCache {
  readonly dir: string;

  constructor(options: KeyCacheOptions = {}) {
    this.dir = keysDir(options);
  }

  /** The file holding the key of the keybag with this UUID. */
  fileOf(uuid: Uint8Array): string {
    if (uuid.length === 0 || uuid.length > 64)
      throw new IbackupError('BACKUP_CORRUPT', { message: `A keybag UUID of ${uuid.length} bytes is not valid.` });
    return path.join(this.dir, hex(uuid));
  }

  /** The cached key of a keybag, or undefined (missing, unreadable or malformed files are ignored). */
  load(uuid: Uint8Array): Uint8Array | undefined {
    let text: string;
    try {
      text = readFileSync(this.fileOf(uuid), 'utf8').trim().toLowerCase();
    } catch {
      return undefined;
    }
    if (!HEX_KEY.test(text)) return undefined;
    return new Uint8Array(Buffer.from(text, 'hex'));
  }

  /** Stores a key (hex text) with mode 0600 in a 0700 folder; replaces any earlier one atomically. */
  save(uuid: Uint8Array, key: Uint8Array): string {
    if (key.length !== DERIVED_KEY_BYTES)
      throw new IbackupError('INTERNAL', {
        message: `A derived key has ${DERIVED_KEY_BYTES} bytes, not ${key.length}.`,
      });
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (process.platform !== 'win32') chmodSync(this.dir, 0o700);
    const file = this.fileOf(uuid);
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, `${hex(key)}\n`, { mode: 0o600, flag: 'w' });
      if (process.platform !== 'win32') chmodSync(tmp, 0o600);
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    return file;
  }

  /** Forgets the key of a keybag (a stale key after a password change). */
  remove(uuid: Uint8Array): void {
    rmSync(this.fileOf(uuid), { force: true });
  }

  /** True when a key is stored for this keybag. */
  has(uuid: Uint8Array): boolean {
    try {
      return statSync(this.fileOf(uuid)).isFile();
    } catch {
      return false;
    }
  }
}
