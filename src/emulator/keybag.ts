/**
 * The device's backup keys (the writer side of backup-format.md §7): a keybag of eleven class
 * keys, wrapped with the key derived from the backup password, per-file keys, the Manifest.db key.
 * The class keys are kept in the device state so incremental backups stay readable.
 */
import { aesCbcEncrypt, aesWrap, deriveKekAsync, randomBytes } from '../protocol/crypto.js';
import { buildClassWrappedKey, buildKeybag, type Keybag } from '../protocol/keybag.js';

export const SHA1_ITERATIONS = 10_000;
/** The protection class of the Manifest.db key. */
export const MANIFEST_KEY_CLASS = 4;

export interface BackupKeys {
  uuid: Uint8Array;
  salt: Uint8Array;
  dpsl: Uint8Array;
  /** class (1–11) → 32-byte key, with the UUID of its block. */
  classKeys: Map<number, { uuid: Uint8Array; key: Uint8Array }>;
}

export function createBackupKeys(): BackupKeys {
  const classKeys = new Map<number, { uuid: Uint8Array; key: Uint8Array }>();
  for (let c = 1; c <= 11; c++) classKeys.set(c, { uuid: randomBytes(16), key: randomBytes(32) });
  return { uuid: randomBytes(16), salt: randomBytes(20), dpsl: randomBytes(20), classKeys };
}

/** Key-encryption key from a password (the two PBKDF2 stages). */
export function deriveDeviceKek(keys: BackupKeys, password: string, dpic: number): Promise<Uint8Array> {
  return deriveKekAsync(password, { salt: keys.salt, iterations: SHA1_ITERATIONS, dpsl: keys.dpsl, dpic });
}

/**
 * The BackupKeyBag bytes. With a KEK (encryption on) the double-protection tags are present and
 * every class key is wrapped with it; without, the class keys are wrapped with a throwaway key,
 * as unencrypted backups still carry a keybag.
 */
export function keybagBytes(keys: BackupKeys, kek: Uint8Array | null, dpic: number): Uint8Array {
  const wrapKey = kek ?? randomBytes(32);
  const kb: Keybag = {
    version: 5,
    type: 1,
    uuid: keys.uuid,
    hmck: new Uint8Array(40),
    wrap: 0,
    salt: keys.salt,
    iterations: SHA1_ITERATIONS,
    ...(kek ? { dpwt: 1, dpic, dpsl: keys.dpsl } : {}),
    classKeys: [],
    unknown: [],
  };
  for (let c = 11; c >= 1; c--) {
    const k = keys.classKeys.get(c);
    if (!k) continue;
    kb.classKeys.push({
      uuid: k.uuid,
      protectionClass: c,
      wrap: c === 5 || c >= 9 ? 3 : 2,
      keyType: 0,
      wrappedKey: aesWrap(wrapKey, k.key),
      unknown: [],
    });
  }
  return buildKeybag(kb);
}

/** A fresh per-file key and its `EncryptionKey` (LE class ‖ wrapped key). */
export function newFileKey(keys: BackupKeys, protectionClass: number): { key: Uint8Array; encryptionKey: Uint8Array } {
  const cls = keys.classKeys.has(protectionClass) ? protectionClass : 4;
  const classKey = keys.classKeys.get(cls)?.key as Uint8Array;
  const key = randomBytes(32);
  return { key, encryptionKey: buildClassWrappedKey({ protectionClass: cls, wrappedKey: aesWrap(classKey, key) }) };
}

/** Encrypts Manifest.db with a fresh key; returns the ciphertext and the ManifestKey field. */
export function encryptManifestDb(keys: BackupKeys, plain: Uint8Array): { bytes: Uint8Array; manifestKey: Uint8Array } {
  const { key, encryptionKey } = newFileKey(keys, MANIFEST_KEY_CLASS);
  return { bytes: aesCbcEncrypt(key, plain), manifestKey: encryptionKey };
}

/** JSON-safe form for the device state. */
export function serializeKeys(k: BackupKeys): Record<string, string> {
  const out: Record<string, string> = {
    uuid: Buffer.from(k.uuid).toString('hex'),
    salt: Buffer.from(k.salt).toString('hex'),
    dpsl: Buffer.from(k.dpsl).toString('hex'),
  };
  for (const [c, v] of k.classKeys)
    out[`class${c}`] = `${Buffer.from(v.uuid).toString('hex')}:${Buffer.from(v.key).toString('hex')}`;
  return out;
}

export function deserializeKeys(o: Record<string, string>): BackupKeys | undefined {
  const hex = (s: string | undefined): Uint8Array | undefined =>
    s && /^[0-9a-f]*$/.test(s) ? new Uint8Array(Buffer.from(s, 'hex')) : undefined;
  const uuid = hex(o.uuid);
  const salt = hex(o.salt);
  const dpsl = hex(o.dpsl);
  if (!uuid || !salt || !dpsl) return undefined;
  const classKeys = new Map<number, { uuid: Uint8Array; key: Uint8Array }>();
  for (let c = 1; c <= 11; c++) {
    const [u, k] = (o[`class${c}`] ?? '').split(':');
    const uu = hex(u);
    const kk = hex(k);
    if (!uu || !kk || kk.length !== 32) return undefined;
    classKeys.set(c, { uuid: uu, key: kk });
  }
  return { uuid, salt, dpsl, classKeys };
}
