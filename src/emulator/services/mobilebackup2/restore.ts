/**
 * Restore, device side (protocol.md §8.3, §10.2): the phone reads the computer's backup — Status
 * (it must be finished), Manifest.plist and Manifest.db (opened with the backup password when the
 * backup is encrypted) — then fetches the files it restores and puts them in place (see
 * restore-apply.ts). Afterwards it saves its content and reboots unless told not to.
 */
import { aesCbcDecrypt, aesUnwrap, deriveKekAsync } from '../../../protocol/crypto.js';
import { parseClassWrappedKey, parseKeybag } from '../../../protocol/keybag.js';
import { isPlistDict, type PlistDict } from '../../../protocol/plist/index.js';
import type { DeviceContent } from '../../content/index.js';
import { hostPlistDict, type HostFiles } from './host-files.js';
import type { Mb2Handler, Mb2Result } from './index.js';
import { readManifestDb, type PreviousRow } from './manifest-writer.js';
import type { AfcFileSystem } from '../afc-fs.js';
import { applyRestore } from './restore-apply.js';
import { reinstallListedApps, type ReinstalledApps } from './restore-apps.js';

export interface RestoreDevice {
  udid: string;
  content: DeviceContent;
  /** A private folder for files on their way in. */
  stagingDir: string;
  /** Bytes free on the device. */
  freeBytes(): number;
  /** Called after a successful restore (save the content; reboot when asked). */
  restored(reboot: boolean): Promise<void>;
  /** Where a host leaves /iTunesRestore/RestoreApplications.plist, and the apps reinstalled from it. */
  apps?: { afc: AfcFileSystem; reinstalled: ReinstalledApps };
}

export interface RestoreOptions {
  systemFiles: boolean;
  reboot: boolean;
  removeNotRestored: boolean;
  /** Copy the backup before restoring (asked of the host; not done by this device). */
  copyBackup: boolean;
  preserveSettings: boolean;
  password: string | undefined;
}

/** The Options dict with the device's defaults for absent keys (protocol.md §8.3). */
export function parseRestoreOptions(req: PlistDict): RestoreOptions {
  const o = isPlistDict(req.Options) ? req.Options : {};
  const flag = (v: unknown, dflt: boolean): boolean => (typeof v === 'boolean' ? v : dflt);
  const password =
    typeof o.Password === 'string' ? o.Password : typeof req.Password === 'string' ? req.Password : undefined;
  return {
    systemFiles: flag(o.RestoreSystemFiles, true),
    reboot: flag(o.RestoreShouldReboot, true),
    removeNotRestored: flag(o.RemoveItemsNotRestored, true),
    copyBackup: !flag(o.RestoreDontCopyBackup, false),
    preserveSettings: flag(o.RestorePreserveSettings, true),
    password: password === '' ? undefined : password,
  };
}

const same = (a: string, b: string): boolean => a.toLowerCase().replace(/-/g, '') === b.toLowerCase().replace(/-/g, '');

function fail(code: number, text: string): Mb2Result {
  return { code, description: `${text} (MBErrorDomain/${code})` };
}

export function restoreHandler(dev: RestoreDevice): Mb2Handler {
  return async (req, files, signal) => {
    if (typeof req.TargetIdentifier === 'string' && !same(req.TargetIdentifier, dev.udid)) {
      return fail(1, 'TargetIdentifier does not match this device');
    }
    const source =
      typeof req.SourceIdentifier === 'string' && req.SourceIdentifier !== '' ? req.SourceIdentifier : dev.udid;
    const options = parseRestoreOptions(req);
    files.progress = 0;
    const backup = await readBackup(files, source, options.password);
    if ('code' in backup) return backup;
    const outcome = await applyRestore({
      content: dev.content,
      rows: backup.rows,
      classKeys: backup.classKeys,
      files,
      source,
      systemFiles: options.systemFiles,
      removeNotRestored: options.removeNotRestored,
      stagingDir: dev.stagingDir,
      freeBytes: dev.freeBytes(),
      signal,
    });
    if (outcome.code !== 0) {
      await dev.restored(false);
      return outcome;
    }
    files.progress = 100;
    // The rest of the restore is done: the apps the host listed are reinstalled (restore-apps.ts).
    if (dev.apps) await reinstallListedApps(dev.apps.afc, dev.apps.reinstalled);
    await dev.restored(options.reboot);
    return { code: 0 };
  };
}

/** The backup's files as its Manifest.db lists them, and its class keys when it is encrypted. */
interface BackupToRestore {
  rows: Map<string, PreviousRow>;
  classKeys: Map<number, Uint8Array> | undefined;
}

/** Reads the host's backup of `source`: it must be finished, and open with `password` if encrypted. */
async function readBackup(
  files: HostFiles,
  source: string,
  password: string | undefined,
): Promise<BackupToRestore | Mb2Result> {
  const p = (rel: string): string => `${source}/${rel}`;
  const status = await files.downloadFiles([p('Status.plist')]);
  const statusBytes = status.get(p('Status.plist'));
  if (!statusBytes) return fail(4, `No such file or directory at path "${p('Status.plist')}"`);
  const st = hostPlistDict(statusBytes);
  if (st?.SnapshotState !== 'finished')
    return fail(205, 'The backup is not complete: its Status.plist does not say finished');

  const m = await files.downloadFiles([p('Manifest.plist'), p('Manifest.db')]);
  const mpBytes = m.get(p('Manifest.plist'));
  const db = m.get(p('Manifest.db'));
  if (!mpBytes) return fail(4, `No such file or directory at path "${p('Manifest.plist')}"`);
  if (!db) return fail(4, `No such file or directory at path "${p('Manifest.db')}"`);
  const manifest = hostPlistDict(mpBytes);
  if (!manifest) return fail(205, 'Manifest.plist of the backup is damaged');
  const opened = manifest.IsEncrypted === true ? await openEncrypted(manifest, db, password) : { plainDb: db };
  if ('code' in opened) return opened;
  try {
    return { rows: readManifestDb(opened.plainDb), classKeys: opened.classKeys };
  } catch {
    return fail(205, 'Manifest.db of the backup is damaged');
  }
}

/** An encrypted backup's class keys and plain Manifest.db, opened with `password`. */
async function openEncrypted(
  manifest: PlistDict,
  db: Uint8Array,
  password: string | undefined,
): Promise<{ plainDb: Uint8Array; classKeys?: Map<number, Uint8Array> } | Mb2Result> {
  if (password === undefined) return fail(207, 'Invalid password: the backup is encrypted and no password was given');
  const classKeys = await unlockBackupKeybag(manifest, password);
  if (classKeys === 'damaged') return fail(205, 'The keybag of the backup is damaged');
  if (classKeys === null) return fail(207, 'Invalid password');
  const plainDb = openManifestDb(classKeys, manifest, db);
  if (!plainDb) return fail(205, 'Manifest.db of the backup cannot be decrypted');
  return { plainDb, classKeys };
}

/**
 * The class keys of an encrypted backup's keybag opened with `password`; null for a wrong
 * password, 'damaged' when the keybag cannot be read.
 */
export async function unlockBackupKeybag(
  manifest: PlistDict,
  password: string,
): Promise<Map<number, Uint8Array> | null | 'damaged'> {
  if (!(manifest.BackupKeyBag instanceof Uint8Array)) return 'damaged';
  try {
    const kb = parseKeybag(manifest.BackupKeyBag);
    const kek = await deriveKekAsync(password, {
      salt: kb.salt,
      iterations: kb.iterations,
      ...(kb.dpsl === undefined ? {} : { dpsl: kb.dpsl }),
      ...(kb.dpic === undefined ? {} : { dpic: kb.dpic }),
    });
    const keys = new Map<number, Uint8Array>();
    for (const ck of kb.classKeys) {
      if ((ck.wrap & 2) === 0) continue;
      const key = aesUnwrap(kek, ck.wrappedKey);
      if (key === null) return null;
      keys.set(ck.protectionClass & 0xf, key);
    }
    return keys.size > 0 ? keys : 'damaged';
  } catch {
    return 'damaged';
  }
}

function openManifestDb(
  classKeys: Map<number, Uint8Array>,
  manifest: PlistDict,
  db: Uint8Array,
): Uint8Array | undefined {
  const head = new TextDecoder().decode(db.subarray(0, 15));
  if (head === 'SQLite format 3') return db; // iOS 10.0/10.1 encrypted backups keep Manifest.db plain
  if (!(manifest.ManifestKey instanceof Uint8Array)) return undefined;
  try {
    const { protectionClass, wrappedKey } = parseClassWrappedKey(manifest.ManifestKey);
    const ck = classKeys.get(protectionClass & 0xf);
    const key = ck ? aesUnwrap(ck, wrappedKey) : null;
    return key ? aesCbcDecrypt(key, db) : undefined;
  } catch {
    return undefined;
  }
}
