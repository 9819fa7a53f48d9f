/**
 * Verification of an iOS 4–9 backup (Manifest.mbdb, blobs flat in the backup folder named by
 * fileID, backup-format.md §5.7): every record parses; each record is sound (a file, folder or
 * link, a safe path, a 20-byte Digest, a key when the backup is encrypted); each regular file's
 * blob is present with the recorded size (PKCS#7-padded when encrypted, §6.8) and the recorded
 * Digest (SHA-1 of the blob as stored, so of the ciphertext when encrypted, §6.9); and for an
 * encrypted backup the password opens the keybag (Manifest.plist BackupKeyBag, one PBKDF2 stage
 * before iOS 10.2) and every file decrypts under its own key (the record's EncryptionKey, class
 * ‖ RFC 3394-wrapped key, as in Manifest.db records).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { IbackupError, isIbackupError } from '../errors.js';
import { readBackupKeybag, unlockKeybag, unlockWithDerivedKey } from './crypto/keybag-unlock.js';
import type { UnlockedKeybag } from './crypto/keybag-unlock.js';
import { MANIFEST_MBDB } from './folder.js';
import type { BackupFolder, BackupProblem, ProblemCode } from './folder.js';
import { legacyBlobPath, MAX_MBDB_BYTES, parseMbdbPartly } from './legacy.js';
import type { MbdbRecord } from './legacy.js';
import { MANIFEST_PLIST } from './manifest.js';
import { unsafeRelativePathReason } from './manifest-rows.js';
import { countKind, FileChecker } from './verify-report.js';
import type { Collector, VerifyCounts, VerifyOptions } from './verify-report.js';
import { unsafeDomainReason } from './verify-row.js';
import type { StoredFile } from './verify-row.js';

const DIGEST_BYTES = 20;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function mbdbProblem(message: string): BackupProblem {
  return { code: 'MANIFEST_MBDB_CORRUPT', message, path: MANIFEST_MBDB, severity: 'error' };
}

/** The records of Manifest.mbdb, as many as can be read; its damage is reported. */
async function readRecords(dir: string, out: Collector): Promise<MbdbRecord[]> {
  const file = path.join(dir, MANIFEST_MBDB);
  let bytes: Uint8Array;
  try {
    const size = (await stat(file)).size;
    if (size > MAX_MBDB_BYTES) {
      out.add(mbdbProblem(`${MANIFEST_MBDB} is ${size} bytes, too large to be an index of files.`));
      return [];
    }
    bytes = await readFile(file);
  } catch (err) {
    out.add(mbdbProblem(`${MANIFEST_MBDB} cannot be read (${messageOf(err)}).`));
    return [];
  }
  const parsed = parseMbdbPartly(bytes);
  if (parsed.error !== undefined) {
    const n = parsed.records.length;
    out.add(
      mbdbProblem(
        `${parsed.error.message} The ${n} record${n === 1 ? '' : 's'} before it are checked; the rest of the index is lost.`,
      ),
    );
  }
  return parsed.records;
}

/**
 * The unlocked keybag of an encrypted backup, or undefined when Manifest.plist has no usable
 * keybag (reported). Throws PASSWORD_REQUIRED or WRONG_PASSWORD.
 */
async function unlockLegacy(
  folder: BackupFolder,
  options: VerifyOptions,
  out: Collector,
): Promise<UnlockedKeybag | undefined> {
  const bytes = folder.manifest?.backupKeyBag;
  if (bytes === undefined) return undefined; // MANIFEST_KEYS_MISSING (or the plist's own problem) says why.
  let keybag;
  try {
    keybag = readBackupKeybag(bytes);
  } catch (err) {
    if (!isIbackupError(err) || err.code !== 'BACKUP_CORRUPT') throw err;
    out.add({
      code: 'MANIFEST_PLIST_CORRUPT',
      message: `Manifest.plist: its BackupKeyBag is damaged (${err.message}).`,
      path: MANIFEST_PLIST,
      severity: 'error',
    });
    return undefined;
  }
  if (options.derivedKey !== undefined) return unlockWithDerivedKey(keybag, options.derivedKey);
  if (options.password === undefined)
    throw new IbackupError('PASSWORD_REQUIRED', { message: 'This backup is encrypted: its password is needed.' });
  return unlockKeybag(keybag, options.password);
}

/** Problems of one record itself (no file system access). */
export function checkRecordShape(rec: MbdbRecord, encrypted: boolean): BackupProblem[] {
  const name = `${rec.domain}/${rec.relativePath}`;
  const out: BackupProblem[] = [];
  const add = (code: ProblemCode, message: string): void => {
    out.push({ code, message: `${name}: ${message}`, path: name, severity: 'error' });
  };
  if (rec.kind === 'unknown') add('BAD_FLAGS', `its mode 0o${rec.mode.toString(8)} is not a file, a folder or a link.`);
  const unsafe = unsafeRelativePathReason(rec.relativePath);
  if (unsafe !== undefined) add('UNSAFE_PATH', `the relative path ${unsafe}.`);
  const badDomain = unsafeDomainReason(rec.domain);
  if (badDomain !== undefined) add('UNSAFE_PATH', `${badDomain}.`);
  if (rec.digest !== undefined && rec.digest.length !== DIGEST_BYTES)
    add('BAD_MBFILE', `the Digest is ${rec.digest.length} bytes, not 20.`);
  if (rec.kind === 'file' && encrypted && rec.encryptionKey === undefined)
    add('KEY_MISSING', 'the file has no encryption key in an encrypted backup.');
  return out;
}

/** The stored file of a regular file's record: flat in the backup folder. */
export function storedFileOfRecord(dir: string, rec: MbdbRecord): StoredFile {
  return {
    name: `${rec.domain}/${rec.relativePath}`,
    blobName: rec.fileID,
    blobPath: legacyBlobPath(dir, rec),
    size: Number(rec.size),
    digest: rec.digest,
    encryptionKey: rec.encryptionKey,
  };
}

export interface LegacyVerifyOutcome {
  encrypted: boolean;
  passwordChecked: boolean;
}

/** Verifies the Manifest.mbdb index and the files of the backup in `folder.dir`. */
export async function verifyLegacyBackup(
  folder: BackupFolder,
  options: VerifyOptions,
  out: Collector,
  counts: VerifyCounts,
): Promise<LegacyVerifyOutcome> {
  const keys = folder.manifest?.isEncrypted === true ? await unlockLegacy(folder, options, out) : undefined;
  const records = await readRecords(folder.dir, out);
  // Without Manifest.plist, keys in the records still say the blobs are encrypted.
  const encrypted = folder.manifest?.isEncrypted ?? records.some((r) => r.encryptionKey !== undefined);
  const checker = new FileChecker(out, counts, {
    check: { keys, encrypted, decrypt: options.decrypt ?? true, checkDigests: options.checkDigests ?? true },
    filesTotal: records.filter((r) => r.kind === 'file').length,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  for (const rec of records) {
    countKind(counts, rec.kind);
    for (const p of checkRecordShape(rec, encrypted)) out.add(p);
    if (rec.kind === 'file') await checker.add(storedFileOfRecord(folder.dir, rec));
  }
  await checker.flush();
  return { encrypted, passwordChecked: keys !== undefined };
}
