/**
 * Encrypted backups, device side (backup-format.md §6–§7): the device's backup keys kept in its
 * state folder (0600) so incremental backups and password changes keep earlier files readable,
 * the password-derived KEK, and the per-run BackupCrypto: a keybag wrapped with the KEK, one key
 * per file derived from its class key (the same file version always gets the same key, so a blob
 * staged by an interrupted run stays valid), AES-256-CBC blobs encrypted while they stream, the
 * encrypted Manifest.db and its ManifestKey.
 */
import { createHash, createHmac, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { aesCbcDecrypt, aesUnwrap, aesWrap, CbcEncryptor, cbcPaddedLength } from '../../../protocol/crypto.js';
import { buildClassWrappedKey, parseClassWrappedKey } from '../../../protocol/keybag.js';
import type { PlistDict } from '../../../protocol/plist/index.js';
import type { DeviceEntry } from '../../content/model.js';
import {
  createBackupKeys,
  deriveDeviceKek,
  deserializeKeys,
  encryptManifestDb,
  keybagBytes,
  serializeKeys,
  type BackupKeys,
} from '../../keybag.js';
import { damagedState, readFileIfExists, writeFileAtomic } from '../../state-files.js';
import type { BackupCrypto } from './backup-script.js';
import { fileIdOf } from './manifest-writer.js';

const KEYS_FILE = 'backup-keys.json';
/** Classes a file key may use: the ones wrapped with the password alone (WRAP 2). */
const FILE_CLASSES = new Set([1, 2, 3, 4]);
const DEFAULT_FILE_CLASS = 4;

/** The device's backup keys in its state folder, and the KEKs derived this run. */
export class BackupKeyStore {
  private keys: Promise<BackupKeys | null> | undefined;
  private readonly keks = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly stateDir: string) {}

  private get path(): string {
    return join(this.stateDir, KEYS_FILE);
  }

  /** The stored keys, or null when encryption was never turned on. */
  load(): Promise<BackupKeys | null> {
    this.keys ??= this.read();
    return this.keys;
  }

  private async read(): Promise<BackupKeys | null> {
    const bytes = await readFileIfExists(this.path);
    if (bytes === null) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch (cause) {
      throw damagedState(this.path, 'it is not JSON', cause);
    }
    const keys = isStringRecord(parsed) ? deserializeKeys(parsed) : undefined;
    if (!keys) throw damagedState(this.path, 'it does not hold the eleven class keys and salts');
    return keys;
  }

  /** The stored keys, made and saved on first use. */
  async loadOrCreate(): Promise<BackupKeys> {
    const existing = await this.load();
    if (existing) return existing;
    const created = createBackupKeys();
    await writeFileAtomic(this.path, JSON.stringify(serializeKeys(created)));
    this.keys = Promise.resolve(created);
    return created;
  }

  /** The KEK of a password with these keys' salts (derived once per password and DPIC). */
  kek(keys: BackupKeys, password: string, dpic: number): Promise<Uint8Array> {
    const id = createHash('sha256')
      .update(keys.salt)
      .update(keys.dpsl)
      .update(`${dpic}\0`)
      .update(password, 'utf8')
      .digest('hex');
    let kek = this.keks.get(id);
    if (!kek) {
      kek = deriveDeviceKek(keys, password, dpic);
      this.keks.set(id, kek);
      kek.catch(() => this.keks.delete(id));
    }
    return kek;
  }
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
  );
}

/** Domains whose files carry a Digest (everything but app containers). */
export function hasDigest(domain: string): boolean {
  return !domain.startsWith('AppDomain');
}

/** The key of one version of a file: HMAC-SHA256 of its class key over what identifies that version. */
export function fileKeyOf(classKey: Uint8Array, e: DeviceEntry): Uint8Array {
  const id = `${fileIdOf(e.domain, e.relativePath)}\0${e.version}\0${e.mtime}\0${e.ctime}\0${e.size}\0${e.inode}`;
  return new Uint8Array(createHmac('sha256', classKey).update(id, 'utf8').digest());
}

/** The encryption of one backup run with these keys and KEK. */
export function backupCrypto(keys: BackupKeys, kek: Uint8Array, dpic: number): BackupCrypto {
  const classKey = (c: number): Uint8Array => {
    const k = keys.classKeys.get(c)?.key;
    if (!k) throw new Error(`backup keys lack class ${c}`);
    return k;
  };
  return {
    keybag: keybagBytes(keys, kek, dpic),
    forFile(entry) {
      const cls = FILE_CLASSES.has(entry.protectionClass) ? entry.protectionClass : DEFAULT_FILE_CLASS;
      const ck = classKey(cls);
      const key = fileKeyOf(ck, entry);
      const encryptionKey = buildClassWrappedKey({ protectionClass: cls, wrappedKey: aesWrap(ck, key) });
      let digest: Uint8Array | undefined;
      const wantDigest = hasDigest(entry.domain);
      return {
        encryptionKey,
        size: cbcPaddedLength(entry.size),
        chunks: (src) => encryptChunks(key, src, wantDigest ? (d) => (digest = d) : undefined),
        digest: () => digest,
      };
    },
    manifest: (plain) => encryptManifestDb(keys, plain),
    readPreviousManifest: (bytes, manifestPlist) => decryptManifestDb(keys, bytes, manifestPlist),
  };
}

/**
 * AES-256-CBC (zero IV, PKCS#7) of a stream of chunks; `onDigest` gets the SHA-1 of the output.
 * Chunks given without promises (bytes made in memory) come out the same way.
 */
export function encryptChunks(
  key: Uint8Array,
  src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  onDigest?: (sha1: Uint8Array) => void,
): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  const enc = new DigestingEncryptor(key, onDigest);
  return Symbol.iterator in src ? enc.sync(src) : enc.async(src);
}

class DigestingEncryptor {
  private readonly enc: CbcEncryptor;
  private readonly hash: Hash | undefined;

  constructor(
    key: Uint8Array,
    private readonly onDigest?: (sha1: Uint8Array) => void,
  ) {
    this.enc = new CbcEncryptor(key);
    this.hash = onDigest ? createHash('sha1') : undefined;
  }

  private push(chunk: Uint8Array): Uint8Array {
    const out = this.enc.push(chunk);
    if (out.length > 0) this.hash?.update(out);
    return out;
  }

  private finish(): Uint8Array {
    const last = this.enc.finish();
    this.hash?.update(last);
    if (this.hash && this.onDigest) this.onDigest(new Uint8Array(this.hash.digest()));
    return last;
  }

  *sync(src: Iterable<Uint8Array>): Generator<Uint8Array> {
    for (const chunk of src) {
      const out = this.push(chunk);
      if (out.length > 0) yield out;
    }
    yield this.finish();
  }

  async *async(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of src) {
      const out = this.push(chunk);
      if (out.length > 0) yield out;
    }
    yield this.finish();
  }
}

/** The plain bytes of an earlier encrypted Manifest.db, or null when these keys cannot open it. */
export function decryptManifestDb(keys: BackupKeys, bytes: Uint8Array, manifestPlist: PlistDict): Uint8Array | null {
  const mk = manifestPlist.ManifestKey;
  if (!(mk instanceof Uint8Array)) return null;
  try {
    const { protectionClass, wrappedKey } = parseClassWrappedKey(mk);
    const ck = keys.classKeys.get(protectionClass)?.key;
    if (!ck) return null;
    const dbKey = aesUnwrap(ck, wrappedKey);
    return dbKey ? aesCbcDecrypt(dbKey, bytes) : null;
  } catch {
    return null;
  }
}
