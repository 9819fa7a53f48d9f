/**
 * Opening the backup keybag (backup-format.md §6.1–§6.6): password → KEK (two PBKDF2 stages when
 * the keybag has DPSL/DPIC, one before iOS 10.2), then RFC 3394 unwrap of every class key wrapped
 * with the KEK. RFC 3394's integrity check makes a wrong password fail at the first class key.
 *
 * The KEK ("derived key") is returned so it can be cached and reused with `unlockWithDerivedKey`,
 * skipping the slow derivation.
 */
import { IbackupError, isIbackupError } from '../../errors.js';
import { aesUnwrap, deriveKekAsync, KEY_BYTES } from '../../protocol/crypto.js';
import { parseClassWrappedKey, parseKeybag } from '../../protocol/keybag.js';
import type { Keybag } from '../../protocol/keybag.js';

/** `WRAP` bit: the class key is wrapped with the password-derived KEK. */
export const WRAP_PASSCODE = 2;

export interface UnlockedKeybag {
  /** The keybag's UUID (16 bytes): identifies which derived key belongs to it. */
  uuid: Uint8Array;
  /** The password-derived 32-byte KEK; cache it to skip the derivation next time. */
  kek: Uint8Array;
  /** Unwrapped class keys by protection class (1–11, flag bits masked off). */
  classKeys: Map<number, Uint8Array>;
  /** Whether the keybag used the iOS 10.2+ double derivation (DPSL/DPIC). */
  doubleProtection: boolean;
}

function keybagCorrupt(problem: string, cause?: unknown): IbackupError {
  return new IbackupError('BACKUP_CORRUPT', {
    message: `Manifest.plist: BackupKeyBag ${problem}.`,
    details: { file: 'Manifest.plist' },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Parses keybag bytes, turning decode failures into BACKUP_CORRUPT. */
export function readBackupKeybag(bytes: Uint8Array): Keybag {
  try {
    return parseKeybag(bytes);
  } catch (err) {
    throw keybagCorrupt(`cannot be read (${isIbackupError(err) ? err.message : 'malformed'})`, err);
  }
}

function asKeybag(k: Keybag | Uint8Array): Keybag {
  return k instanceof Uint8Array ? readBackupKeybag(k) : k;
}

/** Password → KEK with the keybag's parameters, off the event loop. */
export async function deriveBackupKek(keybag: Keybag | Uint8Array, password: string | Uint8Array): Promise<Uint8Array> {
  const kb = asKeybag(keybag);
  try {
    return await deriveKekAsync(password, {
      salt: kb.salt,
      iterations: kb.iterations,
      ...(kb.dpsl === undefined ? {} : { dpsl: kb.dpsl }),
      ...(kb.dpic === undefined ? {} : { dpic: kb.dpic }),
    });
  } catch (err) {
    if (isIbackupError(err) && err.code !== 'PROTOCOL_DECODE') throw err;
    throw keybagCorrupt(
      `has unusable key-derivation parameters (${err instanceof Error ? err.message : String(err)})`,
      err,
    );
  }
}

/**
 * Unwraps every KEK-wrapped class key with an already derived KEK. The first failing unwrap
 * means a wrong password (or key): WRONG_PASSWORD; a later one means a damaged keybag.
 */
export function unlockWithDerivedKey(keybag: Keybag | Uint8Array, kek: Uint8Array): UnlockedKeybag {
  const kb = asKeybag(keybag);
  if (kek.length !== KEY_BYTES) {
    throw new IbackupError('WRONG_PASSWORD', {
      message: `A derived backup key must be ${KEY_BYTES} bytes, not ${kek.length}.`,
    });
  }
  const classKeys = new Map<number, Uint8Array>();
  let tried = 0;
  for (const c of kb.classKeys) {
    if ((c.wrap & WRAP_PASSCODE) === 0) continue;
    let key: Uint8Array | null;
    try {
      key = aesUnwrap(kek, c.wrappedKey);
    } catch (err) {
      throw keybagCorrupt(`class ${c.protectionClass} has a malformed wrapped key`, err);
    }
    tried++;
    if (key === null) {
      if (tried === 1) throw new IbackupError('WRONG_PASSWORD');
      throw keybagCorrupt(`class ${c.protectionClass} does not unwrap although class keys before it did`);
    }
    classKeys.set(c.protectionClass & 0xf, key);
  }
  if (tried === 0) throw keybagCorrupt('has no class key wrapped with the backup password');
  return { uuid: kb.uuid, kek, classKeys, doubleProtection: kb.dpsl !== undefined };
}

/** Derives the KEK from the password, then unwraps the class keys (WRONG_PASSWORD on a bad password). */
export async function unlockKeybag(
  keybag: Keybag | Uint8Array,
  password: string | Uint8Array,
): Promise<UnlockedKeybag> {
  const kb = asKeybag(keybag);
  const kek = await deriveBackupKek(kb, password);
  return unlockWithDerivedKey(kb, kek);
}

/**
 * Unwraps a class-prefixed key (`EncryptionKey` of a file, `ManifestKey`): LE u32 class ‖ 40-byte
 * RFC 3394-wrapped key, with the class key named by the prefix. `what` names it in errors.
 */
export function unwrapClassWrappedKey(keys: UnlockedKeybag, bytes: Uint8Array, what: string): Uint8Array {
  let parsed;
  try {
    parsed = parseClassWrappedKey(bytes);
  } catch (err) {
    throw new IbackupError('BACKUP_CORRUPT', {
      message: `${what}: the wrapped key is malformed (${bytes.length} bytes).`,
      cause: err,
    });
  }
  const cls = parsed.protectionClass & 0xf;
  const classKey = keys.classKeys.get(cls);
  if (classKey === undefined) {
    throw new IbackupError('BACKUP_CORRUPT', {
      message: `${what}: protection class ${parsed.protectionClass} has no key in the keybag.`,
    });
  }
  const key = aesUnwrap(classKey, parsed.wrappedKey);
  if (key === null || key.length !== KEY_BYTES) {
    throw new IbackupError('BACKUP_CORRUPT', { message: `${what}: the key does not unwrap with class key ${cls}.` });
  }
  return key;
}
