/**
 * Backup passwords: turning a password (or a cached derived key) into the unlocked keybag of an
 * encrypted backup, and `password check`, which only reads Manifest.plist, derives the key once
 * and lets RFC 3394's integrity check on the first class key say whether the password is right.
 *
 * A forgotten password cannot be recovered (nor guessed in any reasonable time): the way out is
 * to remove it on the iPhone and make a new backup.
 */
import { performance } from 'node:perf_hooks';
import { deriveBackupKek, readBackupKeybag, unlockWithDerivedKey } from '../backup/crypto/keybag-unlock.js';
import type { UnlockedKeybag } from '../backup/crypto/keybag-unlock.js';
import { readBackupFolder } from '../backup/folder.js';
import { MANIFEST_PLIST } from '../backup/manifest.js';
import { IbackupError, isIbackupError } from '../errors.js';
import type { Keybag } from '../protocol/keybag.js';
import type { KeyCache } from '../backup/crypto/key-cache.js';

/** The derived-key cache of `--save-key`, for the faces to hand to the use cases. */
export { KeyCache } from '../backup/crypto/key-cache.js';

/** What to do when the password is wrong or forgotten (Apple's way: reset the setting on the phone). */
export const FORGOT_PASSWORD_REMEDY =
  'Check the password (it is case-sensitive) and try again. If it is forgotten, this backup cannot be opened: ' +
  'on the iPhone, go to Settings > General > Transfer or Reset iPhone > Reset > Reset All Settings (this removes ' +
  'the backup password, not your data), then make a new backup and delete the old one.';

/** WRONG_PASSWORD with the remedy above. */
export function wrongPasswordError(cause?: unknown): IbackupError {
  return new IbackupError('WRONG_PASSWORD', {
    message: 'The password does not open this backup.',
    remedy: FORGOT_PASSWORD_REMEDY,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Password → derived key (KEK). Injectable so tests can count derivations. */
export type DeriveKey = (keybag: Keybag, password: string) => Promise<Uint8Array>;

export interface UnlockOptions {
  /** Asked for only when the backup is encrypted and no cached key opens it. */
  password?: () => Promise<string>;
  /** Cached derived keys (`--save-key`); looked up before asking for the password. */
  keyCache?: KeyCache;
  /** Look for a cached key before asking for the password (default true). */
  useCache?: boolean;
  /** Store the derived key in `keyCache` once the password opened the keybag. */
  saveKey?: boolean;
  /** Default: the two PBKDF2 stages of backup-format.md §6.4 (off the event loop). */
  derive?: DeriveKey;
}

export interface UnlockResult {
  keys: UnlockedKeybag;
  /** Where the key came from. */
  source: 'password' | 'cache';
  /** Milliseconds spent getting the class keys (derivation included; password typing excluded). */
  unlockMs: number;
  /** Where `--save-key` stored the key. */
  savedTo?: string;
}

const defaultDerive: DeriveKey = (keybag, password) => deriveBackupKek(keybag, password);

/** Opens a keybag with a cached key when one fits, else with the password. */
export async function unlockBackupKeybag(keybagBytes: Uint8Array, options: UnlockOptions = {}): Promise<UnlockResult> {
  const keybag = readBackupKeybag(keybagBytes);
  const cache = options.keyCache;
  let started = performance.now();
  const cached = options.useCache === false ? undefined : cache?.load(keybag.uuid);
  if (cache !== undefined && cached !== undefined) {
    try {
      const keys = unlockWithDerivedKey(keybag, cached);
      return { keys, source: 'cache', unlockMs: performance.now() - started };
    } catch (err) {
      if (!isIbackupError(err) || err.code !== 'WRONG_PASSWORD') throw err;
      // A stale key (the file was damaged or replaced): forget it and fall back to the password.
      cache.remove(keybag.uuid);
    }
  }
  if (options.password === undefined)
    throw new IbackupError('PASSWORD_REQUIRED', { message: 'This backup is encrypted: its password is needed.' });
  const password = await options.password();
  started = performance.now();
  const kek = await (options.derive ?? defaultDerive)(keybag, password);
  let keys: UnlockedKeybag;
  try {
    keys = unlockWithDerivedKey(keybag, kek);
  } catch (err) {
    if (isIbackupError(err) && err.code === 'WRONG_PASSWORD') throw wrongPasswordError(err);
    throw err;
  }
  const unlockMs = performance.now() - started;
  const savedTo = options.saveKey === true && cache !== undefined ? cache.save(keybag.uuid, kek) : undefined;
  return { keys, source: 'password', unlockMs, ...(savedTo === undefined ? {} : { savedTo }) };
}

export interface PasswordCheckResult {
  /** False for a backup without encryption (no password to check). */
  encrypted: boolean;
  /** True when the password opens the backup. */
  correct: boolean;
  /** True for iOS 10.2+ keybags (two derivation stages). */
  doubleProtection?: boolean;
  unlockMs?: number;
  savedTo?: string;
}

/**
 * `password check`: throws WRONG_PASSWORD (with the way out) when the password is wrong,
 * PASSWORD_REQUIRED when none can be had, BACKUP_NOT_FOUND / BACKUP_CORRUPT for an unreadable
 * Manifest.plist. Never opens Manifest.db.
 */
export async function checkBackupPassword(dir: string, options: UnlockOptions = {}): Promise<PasswordCheckResult> {
  const folder = await readBackupFolder(dir);
  const manifest = folder.manifest;
  if (manifest === undefined) {
    const problem = folder.problems.find((p) => p.path === MANIFEST_PLIST);
    if (!folder.hasManifestDb && !folder.hasManifestMbdb && folder.info === undefined && folder.status === undefined) {
      throw new IbackupError('BACKUP_NOT_FOUND', { message: `No backup was found in ${dir}.`, details: { path: dir } });
    }
    throw new IbackupError('BACKUP_CORRUPT', {
      message: problem?.message ?? 'Manifest.plist cannot be read, so the password cannot be checked.',
    });
  }
  if (!manifest.isEncrypted) return { encrypted: false, correct: true };
  if (manifest.backupKeyBag === undefined) {
    throw new IbackupError('BACKUP_CORRUPT', {
      message: 'The backup is encrypted but Manifest.plist has no BackupKeyBag.',
    });
  }
  // The point is to test the password: a cached key is not looked at (it may still be saved).
  const r = await unlockBackupKeybag(manifest.backupKeyBag, { ...options, useCache: false });
  return {
    encrypted: true,
    correct: true,
    doubleProtection: r.keys.doubleProtection,
    unlockMs: r.unlockMs,
    ...(r.savedTo === undefined ? {} : { savedTo: r.savedTo }),
  };
}
