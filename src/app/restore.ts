/**
 * Restore Backup: check the backup on this computer first (it verifies, and its password opens
 * it), and only then ask the iPhone to restore from it, serving the files it downloads.
 */
import { basename, dirname } from 'node:path';
import { BackupStore } from '../backup/store.js';
import { IbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import { MOBILEBACKUP2_SERVICE, MobileBackup2Client } from '../host/services/mobilebackup2.js';
import { Notifications } from '../host/services/notification-proxy.js';
import { numberValue, type PlistDict } from '../protocol/plist/index.js';
import type { BackupProgress } from './backup.js';
import { storeTarget } from './backup-target.js';
import { mobileBackupError } from './mobilebackup-errors.js';
import { openSyncSession } from './sync-session.js';
import { verifyBackupAt } from './verify.js';

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
  signal?: AbortSignal;
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

export async function restoreDevice(device: HostDevice, opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  // 1. Before touching the iPhone: the backup must verify and open with the password.
  let password: string | undefined;
  const report = await verifyBackupAt(opts.backupDir, {
    ...(opts.password
      ? {
          password: async () => {
            password ??= await (opts.password as () => Promise<string>)();
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

  // 2. The restore itself.
  const source = basename(opts.backupDir);
  const store = new BackupStore(dirname(opts.backupDir), source);
  const sync = await openSyncSession(device, opts.signal);
  let mb2: MobileBackup2Client | undefined;
  const progress: BackupProgress = { phase: 'preparing', bytesDone: 0, filesDone: 0 };
  const emit = (extra: Partial<BackupProgress> = {}): void => opts.onProgress?.({ ...progress, ...extra });
  try {
    mb2 = new MobileBackup2Client(await device.startService(MOBILEBACKUP2_SERVICE, { escrowBag: true }));
    await mb2.handshake(opts.signal);
    await sync.lock(opts.signal);
    sync.np.on('notification', (n) => {
      if (n === Notifications.passcodePresented) emit({ phase: 'waiting-for-passcode' });
    });
    const options: PlistDict = {
      RestoreSystemFiles: opts.system === true,
      RestoreShouldReboot: opts.noReboot !== true,
      RestoreDontCopyBackup: true,
      RestorePreserveSettings: opts.settings !== true,
      RemoveItemsNotRestored: opts.remove === true,
    };
    if (password !== undefined) options.Password = password;
    progress.phase = 'backing-up';
    emit({ percent: 0 });
    const target = storeTarget(store);
    const counting = {
      ...target,
      readFile: async function* (path: string): AsyncGenerator<Uint8Array> {
        for await (const chunk of target.readFile(path)) {
          progress.bytesDone += chunk.length;
          yield chunk;
        }
        progress.filesDone++;
        emit({ currentPath: path });
      },
    };
    const response = await mb2.run(
      { MessageName: 'Restore', TargetIdentifier: device.udid, SourceIdentifier: source, Options: options },
      counting,
      { progress: (percent) => emit({ percent }) },
      opts.signal ? { signal: opts.signal } : {},
    );
    const code = numberValue(response.ErrorCode) ?? -1;
    if (code === 102) {
      throw new IbackupError('DEVICE_BACKUP_ERROR', {
        message: 'The iPhone could not start the restore (error 102).',
        remedy: 'Restart the iPhone, reconnect it, then run the restore again.',
        details: { mobileBackupCode: 102 },
      });
    }
    if (code !== 0) throw mobileBackupError(code, typeof response.ErrorDescription === 'string' ? response.ErrorDescription : '');
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
  } finally {
    await mb2?.disconnect();
    await sync.close();
  }
}
