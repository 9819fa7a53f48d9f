/**
 * Restore Backup: check the backup on this computer first (it verifies, and its password opens
 * it), and only then ask the iPhone to restore from it, serving the files it downloads.
 */
import { DeviceLock, rootOfBackupFolder } from '../backup/device-lock.js';
import { basename, dirname } from 'node:path';
import { readInfoPlist } from '../backup/info-plist.js';
import { readManifestPlist } from '../backup/manifest.js';
import { BackupStore } from '../backup/store.js';
import { hasCode, IbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import type { AfcClient } from '../host/services/afc.js';
import { MOBILEBACKUP2_SERVICE, MobileBackup2Client, type BackupTarget } from '../host/services/mobilebackup2.js';
import { Notifications } from '../host/services/notification-proxy.js';
import { isPlistDict, numberValue, serializeXmlPlist, type PlistDict } from '../protocol/plist/index.js';
import type { BackupProgress } from './backup.js';
import { storeTarget } from './backup-target.js';
import { mobileBackupError } from '../host/services/mobilebackup2-errors.js';
import { openSyncSession } from '../host/sync-session.js';
import { verifyBackupAt, type VerifyReport } from './verify.js';
import { tuneHeapForStreaming } from './heap-tuning.js';

export interface RestoreOptions {
  /** The backup folder to restore from. */
  backupDir: string;
  /** The backup password (asked only when the backup is encrypted). */
  password?: () => Promise<string>;
  /** Restore system files too. */
  system?: boolean;
  /** Restore settings too (otherwise the iPhone keeps its own). */
  settings?: boolean;
  /** Remove files on the iPhone that the backup does not have. */
  remove?: boolean;
  /** Do not restart the iPhone afterwards. */
  noReboot?: boolean;
  /** Do not have the iPhone reinstall the backup's apps (no RestoreApplications.plist). */
  skipApps?: boolean;
  signal?: AbortSignal;
  /** Things the user should know that did not stop the restore (e.g. no sync lock). */
  onWarning?: (message: string) => void;
  onProgress?: (p: BackupProgress) => void;
  onChecked?: (files: number) => void;
}

export interface RestoreResult {
  udid: string;
  from: string;
  encrypted: boolean;
  filesSent: number;
  bytesSent: number;
  durationMs: number;
  rebooting: boolean;
}

/** Before touching the iPhone: the backup must verify and open with the password (asked once). */
async function checkBeforeRestore(opts: RestoreOptions): Promise<{ report: VerifyReport; password?: string }> {
  let password: string | undefined;
  const ask = opts.password;
  const report = await verifyBackupAt(opts.backupDir, {
    ...(ask
      ? {
          password: async () => {
            password ??= await ask();
            return password;
          },
        }
      : {}),
    useCache: false,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (!report.ok) {
    const first = report.problems.find((p) => p.severity === 'error');
    throw new IbackupError('BACKUP_CORRUPT', {
      message: `The backup in ${opts.backupDir} cannot be restored: ${first ? first.message : 'it did not verify'}.`,
      remedy: 'Run "ibackup verify" for the details; restore from another backup.',
    });
  }
  if (report.encrypted && password === undefined) throw new IbackupError('PASSWORD_REQUIRED');
  opts.onChecked?.(report.counts.files);
  return { report, ...(password === undefined ? {} : { password }) };
}

/** The Restore request's options, as the user chose them. */
function restoreRequestOptions(opts: RestoreOptions, password: string | undefined): PlistDict {
  const options: PlistDict = {
    RestoreSystemFiles: opts.system === true,
    RestoreShouldReboot: opts.noReboot !== true,
    RestoreDontCopyBackup: true,
    RestorePreserveSettings: opts.settings !== true,
    RemoveItemsNotRestored: opts.remove === true,
  };
  if (password !== undefined) options.Password = password;
  return options;
}

/** The backup folder as the device's target, counting the files and bytes it downloads. */
function countingTarget(
  target: BackupTarget,
  progress: BackupProgress,
  emit: (extra?: Partial<BackupProgress>) => void,
): BackupTarget {
  return {
    ...target,
    readFile: async function* (path: string): AsyncGenerator<Uint8Array> {
      for await (const chunk of target.readFile(path)) {
        progress.bytesDone += chunk.length;
        yield chunk;
      }
      progress.filesDone++;
      // The bytes sent of those the backup holds, when the iPhone's own figure lags behind them.
      const sent = progress.bytesTotal ? Math.min(99, (progress.bytesDone / progress.bytesTotal) * 100) : 0;
      progress.percent = Math.max(progress.percent ?? 0, sent);
      emit({ currentPath: path });
    },
  };
}

/** The device's answer to the Restore request: done, or why not. */
function checkRestoreResponse(response: PlistDict): void {
  const code = numberValue(response.ErrorCode) ?? -1;
  if (code === 102) {
    throw new IbackupError('DEVICE_BACKUP_ERROR', {
      message: 'The iPhone could not start the restore (error 102).',
      remedy: 'Restart the iPhone, reconnect it, then run the restore again.',
      details: { mobileBackupCode: 102 },
    });
  }
  if (code !== 0)
    throw mobileBackupError(code, typeof response.ErrorDescription === 'string' ? response.ErrorDescription : '');
}

/** Restore, holding the phone's lock file (under the backup's root): never two runs on one phone. */
export async function restoreDevice(device: HostDevice, opts: RestoreOptions): Promise<RestoreResult> {
  // A backup on a disk this user cannot write (read-only media) is restored without the lock.
  const lock = await DeviceLock.acquire(rootOfBackupFolder(opts.backupDir), device.udid, { purpose: 'restore' }).catch(
    (err: unknown) => {
      if (hasCode(err, 'BUSY')) throw err;
      return undefined;
    },
  );
  try {
    return await restoreUnlocked(device, opts);
  } finally {
    await lock?.release();
  }
}

/**
 * The password of an encrypted backup is asked before anything else (never while connections
 * to the iPhone wait on the user); the backup's check then runs while they are made.
 */
async function passwordFirst(opts: RestoreOptions): Promise<RestoreOptions> {
  const ask = opts.password;
  if (ask === undefined) return opts;
  const encrypted = await readManifestPlist(opts.backupDir).then(
    (m) => m.isEncrypted,
    () => false, // a damaged Manifest.plist is for the check to report
  );
  if (!encrypted) return opts;
  const given = await ask();
  return { ...opts, password: () => Promise.resolve(given) };
}

async function restoreUnlocked(device: HostDevice, given: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  // A restore reads every file into buffers of its own as the iPhone downloads them: the same
  // stream of short-lived data as a backup's, with the same small heap.
  tuneHeapForStreaming();
  const opts = await passwordFirst(given);
  // 1. The backup must verify and open with the password before the iPhone is asked for
  // anything: the check runs while the connections are made (nothing the iPhone shows or
  // keeps), and the sync lock and the Restore request wait for it.
  const checking = checkBeforeRestore(opts);
  checking.catch(() => undefined); // awaited below, once connected
  // 2. The restore itself.
  const source = basename(opts.backupDir);
  const store = new BackupStore(dirname(opts.backupDir), source);
  const sync = await openSyncSession(device, opts.signal, opts.onWarning ? { onWarning: opts.onWarning } : {});
  let mb2: MobileBackup2Client | undefined;
  let appsWritten = false;
  const progress: BackupProgress = { phase: 'preparing', bytesDone: 0, filesDone: 0 };
  const emit = (extra: Partial<BackupProgress> = {}): void => opts.onProgress?.({ ...progress, ...extra });
  try {
    mb2 = new MobileBackup2Client(await device.startService(MOBILEBACKUP2_SERVICE, { escrowBag: true }));
    await mb2.handshake(opts.signal);
    const { report, password } = await checking;
    progress.bytesTotal = report.counts.blobBytes;
    await sync.lock(opts.signal);
    sync.np.on('notification', (n) => {
      if (n === Notifications.passcodePresented) emit({ phase: 'waiting-for-passcode' });
    });
    const options = restoreRequestOptions(opts, password);
    if (opts.skipApps !== true) appsWritten = await writeRestoreApplications(sync.afc, opts.backupDir);
    progress.phase = 'backing-up';
    progress.percent = 0;
    emit();
    const response = await mb2.run(
      { MessageName: 'Restore', TargetIdentifier: device.udid, SourceIdentifier: source, Options: options },
      countingTarget(storeTarget(store), progress, emit),
      {
        progress: (percent) => {
          progress.percent = Math.max(progress.percent ?? 0, percent);
          emit();
        },
      },
      opts.signal ? { signal: opts.signal } : {},
    );
    checkRestoreResponse(response);
    emit({ phase: 'finishing', percent: 100 });
    return {
      udid: device.udid,
      from: opts.backupDir,
      encrypted: report.encrypted,
      filesSent: progress.filesDone,
      bytesSent: progress.bytesDone,
      durationMs: Date.now() - started,
      rebooting: opts.noReboot !== true,
    };
  } catch (err) {
    // A failed restore leaves no app list behind (idevicebackup2.c (master fa0f791) ~line 2836).
    if (appsWritten) await removeRestoreApplications(sync.afc);
    throw err;
  } finally {
    await mb2?.disconnect();
    await sync.close();
  }
}

const RESTORE_FOLDER = '/iTunesRestore';
const RESTORE_APPLICATIONS = `${RESTORE_FOLDER}/RestoreApplications.plist`;

/**
 * Before the Restore request, the backup's Info.plist "Applications" dict goes to the iPhone as
 * XML in /iTunesRestore/RestoreApplications.plist, so that it reinstalls those apps once the
 * restore is done (idevicebackup2.c (master fa0f791) write_restore_applications ~line 553, called
 * before "Restore" ~line 2326; pymobiledevice3 services/mobilebackup2.py restore ~lines 408-415).
 * A backup without apps writes nothing. Returns whether the file was written.
 */
async function writeRestoreApplications(afc: AfcClient, backupDir: string): Promise<boolean> {
  const apps = (await readInfoPlist(backupDir)).raw.Applications;
  if (!isPlistDict(apps)) return false;
  await afc.makeDir(RESTORE_FOLDER);
  await afc.writeFile(RESTORE_APPLICATIONS, serializeXmlPlist(apps));
  return true;
}

async function removeRestoreApplications(afc: AfcClient): Promise<void> {
  await afc.remove(RESTORE_APPLICATIONS).catch(() => undefined);
  await afc.remove(RESTORE_FOLDER).catch(() => undefined);
}
