/**
 * Back Up Now: a full or incremental backup of one device into `<root>/<UDID>/`, in Apple's
 * format, with progress events (including the minutes a real iPhone spends asking for its passcode
 * and preparing), a free-space check that never refuses a backup that could fit, cancellation by
 * hanging up as libimobiledevice does, a check of every blob the device reused from an interrupted
 * run (and, on request, of the whole backup) before it is called complete, and errors in plain
 * words. Nothing here prints.
 */
import { mkdir } from 'node:fs/promises';
import { SizeLedger } from '../backup/size-ledger.js';
import { removeStaleTemps } from '../backup/stale-temps.js';
import { isSnapshotFinished, readStatusPlist } from '../backup/status.js';
import { BackupStore } from '../backup/store.js';
import type { FsLayer } from '../backup/fs-layer.js';
import { Preserver } from '../backup/preserve.js';
import { diskFullError, isNoSpace } from '../backup/disk-full.js';
import { ReusedBlobs } from '../backup/reused-blobs.js';
import { readUnreadableRecord, UnreadableLog, type UnreadableFile } from '../backup/unreadable-record.js';
import { IbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import { MOBILEBACKUP2_SERVICE, MobileBackup2Client } from '../host/services/mobilebackup2.js';
import { Notifications } from '../host/services/notification-proxy.js';
import { numberValue, type PlistDict } from '../protocol/plist/index.js';
import { storeTarget } from './backup-target.js';
import { checkBackupSpace } from './backup-space.js';
import {
  checkRunBeforeComplete,
  markUnfinished,
  prepareLeftovers,
  refuseRun,
  type RunCheckOptions,
} from './backup-checks.js';
import { deviceWaitMs } from './device-wait.js';
import { mobileBackupError } from '../host/services/mobilebackup2-errors.js';
import { writeInfoPlist } from './backup-info.js';
import { openSyncSession } from '../host/sync-session.js';
import { tuneHeapForStreaming } from './heap-tuning.js';

export const GIB = 1024 ** 3;
const CANCELLED_MESSAGE = 'The backup was cancelled; the last complete backup is unchanged.';
const CANCELLED_ON_PHONE = 'The backup was cancelled on the iPhone; the last complete backup is unchanged.';

/**
 * preparing: ibackup gets ready; waiting-for-passcode: the iPhone shows its passcode prompt;
 * device-preparing: the iPhone prepares its snapshot and says nothing (minutes on a big phone);
 * backing-up: files arrive; checking / verifying: the new backup is checked before it counts.
 */
export type BackupPhase =
  'preparing' | 'waiting-for-passcode' | 'device-preparing' | 'backing-up' | 'checking' | 'verifying' | 'finishing';

export interface BackupProgress {
  phase: BackupPhase;
  /** The device's own percent (0–100). */
  percent?: number;
  bytesDone: number;
  bytesTotal?: number;
  filesDone: number;
  currentPath?: string;
}

export interface BackupOptions extends RunCheckOptions {
  /** The backup folder (the device's folder is `<root>/<UDID>`). */
  root: string;
  full?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: BackupProgress) => void;
  /** Warnings worth telling the user (low space, files the iPhone could not read…). */
  onWarning?: (message: string) => void;
  now?: () => Date;
  /** Copy the last complete backup when the disk cannot make hard links (the user agreed). */
  allowCopy?: boolean;
  /** The file system (tests inject faults and record flushes). */
  fs?: FsLayer;
  /** How long the iPhone may stay silent after the request (default 60 min). */
  waitMs?: number;
}

export interface BackupResult {
  udid: string;
  path: string;
  full: boolean;
  date: string;
  sizeBytes: number;
  filesReceived: number;
  bytesReceived: number;
  durationMs: number;
  encrypted: boolean;
  /** Files the iPhone could not read to the end: kept as it sent them. */
  unreadableFiles: UnreadableFile[];
  /** Blobs left by an interrupted run that the iPhone reused, each checked. */
  reusedFiles: number;
  /** The whole backup was verified before it was called complete (--verify). */
  verified: boolean;
}

export async function backupDevice(device: HostDevice, opts: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  tuneHeapForStreaming();
  const now = opts.now ?? (() => new Date());
  const udid = device.udid;
  // The last complete backup is kept (hard links) from the first change until this run is flushed.
  const preserver = new Preserver(opts.root, udid, {
    ...(opts.fs ? { fs: opts.fs } : {}),
    allowCopy: opts.allowCopy === true,
  });
  // The folder's size, followed change by change from the last complete run's figure (if still true).
  const sizes = await SizeLedger.open(opts.root, udid);
  const store = new BackupStore(opts.root, udid, {
    ...(opts.fs ? { fs: opts.fs } : {}),
    sizes,
    beforeChange: async (local, loses) => {
      await sizes.beforeChange();
      await preserver.beforeChange(local, loses);
    },
  });
  // The device's percent is kept between its reports: file events between them carry the last one.
  const progress: BackupProgress = { phase: 'preparing', bytesDone: 0, filesDone: 0 };
  const emit = (extra: Partial<BackupProgress> = {}): void => opts.onProgress?.({ ...progress, ...extra });
  emit();

  // What the device is, and what this computer already has.
  const values = await device.withSession(
    async (l) => ({
      root: await l.getDomain(),
      itunes: await l.getDomain('com.apple.iTunes').catch(() => ({})),
      minItunes: await l.getValue('com.apple.mobile.iTunes', 'MinITunesVersion').catch(() => null),
      backup: await l.getDomain('com.apple.mobile.backup').catch((): PlistDict => ({})),
      disk: await l.getDomain('com.apple.disk_usage').catch((): PlistDict => ({})),
    }),
    opts.signal,
  );
  const encrypted = values.backup.WillEncrypt === true;
  await mkdir(opts.root, { recursive: true });
  const hasComplete = await readStatusPlist(store.deviceDir).then(isSnapshotFinished, () => false);
  const full = opts.full === true || !hasComplete;
  const spaceWarning = checkBackupSpace({
    root: opts.root,
    free: await store.freeSpace(),
    usedOnPhone: usedBytes(values.disk),
    previousBackupBytes: hasComplete ? sizes.figure : undefined,
    full,
    first: !hasComplete,
  });
  if (spaceWarning) opts.onWarning?.(spaceWarning);

  const sync = await openSyncSession(device, opts.signal, opts.onWarning ? { onWarning: opts.onWarning } : {});
  // A cancel here or on the iPhone hangs up (DLMessageDisconnect, then the socket): the phone
  // stops on that alone, and libimobiledevice never posts a cancel request to it.
  const run = new AbortController();
  let cancelledOnPhone = false;
  const onUserAbort = (): void => run.abort();
  opts.signal?.addEventListener('abort', onUserAbort, { once: true });
  if (opts.signal?.aborted) run.abort();
  let mb2: MobileBackup2Client | undefined;
  try {
    mb2 = new MobileBackup2Client(await device.startService(MOBILEBACKUP2_SERVICE, { escrowBag: true }));
    await mb2.handshake(run.signal);
    await sync.lock(run.signal);
    // A figure still true means no run changed the folder since the last complete one: no leftovers.
    if (!sizes.known) await removeStaleTemps(store.fs, store.deviceDir);
    await writeInfoPlist(device, sync.afc, store, udid, values, now());
    const reused = new ReusedBlobs(await prepareLeftovers(store, udid, encrypted, opts));
    const unreadable = new UnreadableLog(opts.root, udid, await readUnreadableRecord(store.deviceDir));
    const statusPath = `${udid}/Status.plist`;

    let deviceActive = false;
    sync.np.on('notification', (name) => {
      if (name === Notifications.passcodePresented) emit({ phase: (progress.phase = 'waiting-for-passcode') });
      else if (name === Notifications.passcodeDismissed)
        emit({ phase: (progress.phase = deviceActive ? 'backing-up' : 'device-preparing') });
      else if (name === Notifications.syncCancelRequest) {
        // The owner cancelled on the iPhone (idevicebackup2.c stops on this notification too).
        cancelledOnPhone = true;
        run.abort();
      }
    });
    progress.phase = 'device-preparing';
    progress.percent = 0;
    emit();
    const request: PlistDict = { MessageName: 'Backup', TargetIdentifier: udid, SourceIdentifier: udid };
    if (opts.full) request.Options = { ForceFullBackup: true };
    let diskFull: string | undefined;
    const response = await mb2.run(
      request,
      storeTarget(store),
      {
        deviceActive: () => {
          deviceActive = true;
          if (progress.phase === 'device-preparing') emit({ phase: (progress.phase = 'backing-up') });
        },
        progress: (percent) => {
          progress.percent = percent;
          emit();
        },
        bytes: (n) => {
          progress.bytesDone += n;
        },
        fileReceived: (path) => {
          progress.filesDone++;
          reused.received(path);
          if (path === statusPath) unreadable.statusUploaded();
          else unreadable.received(path.slice(path.lastIndexOf('/') + 1));
          emit({ currentPath: path });
        },
        unreadable: (path, devicePath, reason) => {
          unreadable.unreadable({ fileId: path.slice(path.lastIndexOf('/') + 1), devicePath, reason });
          opts.onWarning?.(
            `The iPhone could not read ${devicePath || path} to the end (${reason || 'no reason given'}); it is kept as the iPhone sent it.`,
          );
        },
        moved: (from, to) => reused.moved(from, to),
        diskFull: (path) => {
          diskFull = path;
        },
      },
      { waitMs: deviceWaitMs(opts.waitMs), signal: run.signal },
    );
    const code = numberValue(response.ErrorCode) ?? -1;
    if (run.signal.aborted) throw cancelled(cancelledOnPhone);
    if (code !== 0 || diskFull) {
      throw diskFull
        ? diskFullError(opts.root)
        : mobileBackupError(code, typeof response.ErrorDescription === 'string' ? response.ErrorDescription : '');
    }
    const status = await readStatusPlist(store.deviceDir).catch(() => undefined);
    if (!isSnapshotFinished(status)) {
      throw new IbackupError('BACKUP_INCOMPLETE', {
        message: 'The iPhone said the backup finished, but its Status.plist does not say "finished".',
      });
    }
    progress.phase = 'finishing';
    progress.percent = 100;
    emit();
    await store.flush();
    // Before the checks: verify must know which files the iPhone itself could not read.
    await unreadable.finish();
    // A run that could not be checked (a wrong password for --verify…) does not count either.
    const refusal = await checkRunBeforeComplete(
      store,
      reused.reused,
      encrypted,
      opts,
      (phase) => emit({ phase: (progress.phase = phase) }),
      run.signal,
    ).catch(async (err: unknown) => {
      await markUnfinished(store, udid).catch(() => undefined);
      throw err;
    });
    if (refusal) throw await refuseRun(store, udid, refusal);
    store.fs.event?.('complete');
    await preserver.release();
    return {
      udid,
      path: store.deviceDir,
      full: status?.isFullBackup ?? full,
      date: (status?.date ?? now()).toISOString(),
      sizeBytes: await sizes.finish(),
      filesReceived: progress.filesDone,
      bytesReceived: progress.bytesDone,
      durationMs: Date.now() - started,
      encrypted,
      unreadableFiles: unreadable.now,
      reusedFiles: reused.reused.size,
      verified: opts.verify === true,
    };
  } catch (err) {
    // The copy this run was filling becomes the last complete backup on its own.
    await preserver.abandon().catch(() => undefined);
    if (run.signal.aborted) throw cancelled(cancelledOnPhone, err);
    if (isNoSpace(err)) throw diskFullError(opts.root, err);
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onUserAbort);
    await mb2?.disconnect();
    await sync.close();
  }
}

function cancelled(onPhone: boolean, cause?: unknown): IbackupError {
  return new IbackupError('CANCELLED', {
    message: onPhone ? CANCELLED_ON_PHONE : CANCELLED_MESSAGE,
    ...(onPhone ? { remedy: 'Run the backup again when you want it.' } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}

function usedBytes(disk: PlistDict): number | null {
  const total = numberValue(disk.TotalDataCapacity);
  const avail = numberValue(disk.TotalDataAvailable);
  if (total !== undefined && avail !== undefined) return Math.max(0, total - avail);
  return null;
}
