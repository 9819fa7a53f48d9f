/**
 * Back Up Now: a full or incremental backup of one device into `<root>/<UDID>/`, in Apple's
 * format, with progress events (including the minutes a real iPhone spends asking for its passcode
 * and preparing), a free-space check that never refuses a backup that could fit, cancellation by
 * hanging up as libimobiledevice does, a check of every blob the device reused from an interrupted
 * run (and, on request, of the whole backup) before it is called complete, and errors in plain
 * words. The folder is held by one BackupRun (backup/run.ts); nothing here prints.
 */
import { DeviceLock } from '../backup/device-lock.js';
import { diskFullError, isNoSpace } from '../backup/disk-full.js';
import type { FsLayer } from '../backup/fs-layer.js';
import type { PhotoCountsRecord } from '../backup/photo-counts.js';
import { ReusedBlobs } from '../backup/reused-blobs.js';
import { BackupRun, type CommitResult } from '../backup/run.js';
import { isSnapshotFinished, readStatusPlist, type BackupStatus } from '../backup/status.js';
import type { UnreadableFile, UnreadableLog } from '../backup/unreadable-record.js';
import { IbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import { MOBILEBACKUP2_SERVICE, MobileBackup2Client, type Mb2Observer } from '../host/services/mobilebackup2.js';
import { mobileBackupError } from '../host/services/mobilebackup2-errors.js';
import { openSyncSession, type SyncSession } from '../host/sync-session.js';
import { numberValue, type PlistDict } from '../protocol/plist/index.js';
import { checkRunBeforeComplete, prepareLeftovers, refusalError, type RunCheckOptions } from './backup-checks.js';
import { writeInfoPlist } from './backup-info.js';
import { withPhotoCounts } from './backup-photos.js';
import { BackupProgressState, RunCancel, type BackupProgress } from './backup-progress.js';
import { checkBackupSpace, dataUsedBytes } from './backup-space.js';
import { storeTarget } from './backup-target.js';
import { deviceWaitMs } from './device-wait.js';
import { tuneHeapForStreaming } from './heap-tuning.js';

export type { BackupPhase, BackupProgress } from './backup-progress.js';

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
  /** What the phone's lock file says is running (default "backup"). */
  lockPurpose?: string;
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
  /** What the backup holds of the photo library (app/backup-photos.ts); null when it could not be read. */
  photos?: PhotoCountsRecord | null;
  /** This backup's version id, the version made of the one it replaced, versions removed by retention. */
  history: BackupHistoryOutcome;
}

export interface BackupHistoryOutcome {
  id: string;
  versionMade: string | null;
  pruned: string[];
  /** The disk cannot make hard links: no earlier versions are kept. */
  off: boolean;
}

/** What lockdown tells of the device before a run. */
interface DeviceValues {
  root: PlistDict;
  itunes: PlistDict;
  minItunes: unknown;
  backup: PlistDict;
  disk: PlistDict;
}

/** What one run knows once it is under way (shared by its steps). */
interface RunContext {
  device: HostDevice;
  opts: BackupOptions;
  run: BackupRun;
  progress: BackupProgressState;
  cancel: RunCancel;
  values: DeviceValues;
  encrypted: boolean;
  /** A full backup: --full, or no complete backup to build on. */
  full: boolean;
  started: number;
  now: () => Date;
}

/** What the device is: its identity, iTunes settings, backup settings and disk usage. */
function readDeviceValues(device: HostDevice, signal: AbortSignal | undefined): Promise<DeviceValues> {
  return device.withSession(
    async (l) => ({
      root: await l.getDomain(),
      itunes: await l.getDomain('com.apple.iTunes').catch(() => ({})),
      minItunes: await l.getValue('com.apple.mobile.iTunes', 'MinITunesVersion').catch(() => null),
      backup: await l.getDomain('com.apple.mobile.backup').catch((): PlistDict => ({})),
      disk: await l.getDomain('com.apple.disk_usage').catch((): PlistDict => ({})),
    }),
    signal,
  );
}

/** What this computer already has, and whether the disk has room (a warning, or DISK_FULL). */
async function checkComputer(run: BackupRun, values: DeviceValues, opts: BackupOptions): Promise<boolean> {
  const hasComplete = await run.prepare();
  const full = opts.full === true || !hasComplete;
  const spaceWarning = checkBackupSpace({
    root: opts.root,
    free: await run.freeSpace(),
    usedOnPhone: dataUsedBytes(values.disk),
    previousBackupBytes: run.previousBackupBytes,
    full,
    first: !hasComplete,
  });
  if (spaceWarning) opts.onWarning?.(spaceWarning);
  return full;
}

/** Follows the iPhone's passcode prompt and the owner's cancel on the iPhone. */
function followDevice(sync: SyncSession, progress: BackupProgressState, cancel: RunCancel): void {
  sync.np.on('notification', (name) => progress.notification(name, () => cancel.cancelledOnPhone()));
}

/** How the device's file traffic shows: progress, reused leftovers, unreadable files, a full disk. */
function observer(
  ctx: RunContext,
  reused: ReusedBlobs,
  unreadable: UnreadableLog,
  diskFull: { path?: string },
): Mb2Observer {
  const statusPath = `${ctx.device.udid}/Status.plist`;
  const { progress, opts } = ctx;
  return {
    deviceActive: () => progress.deviceActive(),
    progress: (percent, uploadBytes) => progress.percent(percent, uploadBytes),
    bytes: (n) => progress.bytes(n),
    fileReceived: (path) => {
      reused.received(path);
      if (path === statusPath) unreadable.statusUploaded();
      else unreadable.received(path.slice(path.lastIndexOf('/') + 1));
      progress.fileReceived(path);
    },
    unreadable: (path, devicePath, reason) => {
      unreadable.unreadable({ fileId: path.slice(path.lastIndexOf('/') + 1), devicePath, reason });
      opts.onWarning?.(
        `The iPhone could not read ${devicePath || path} to the end (${reason || 'no reason given'}); it is kept as the iPhone sent it.`,
      );
    },
    moved: (from, to) => reused.moved(from, to),
    diskFull: (path) => {
      diskFull.path = path;
    },
  };
}

/** The device's answer to the request: finished, or why not (cancelled, disk full, its error). */
async function checkResponse(
  ctx: RunContext,
  response: PlistDict,
  diskFull: string | undefined,
): Promise<BackupStatus> {
  const code = numberValue(response.ErrorCode) ?? -1;
  if (ctx.cancel.signal.aborted) throw ctx.cancel.error();
  if (code !== 0 || diskFull) {
    throw diskFull
      ? diskFullError(ctx.opts.root)
      : mobileBackupError(code, typeof response.ErrorDescription === 'string' ? response.ErrorDescription : '');
  }
  const status = await readStatusPlist(ctx.run.deviceDir).catch(() => undefined);
  if (status === undefined || !isSnapshotFinished(status)) {
    throw new IbackupError('BACKUP_INCOMPLETE', {
      message: 'The iPhone said the backup finished, but its Status.plist does not say "finished".',
    });
  }
  return status;
}

/** The new backup counts only once flushed and checked (a refused run is marked unfinished). */
async function complete(ctx: RunContext, reused: ReusedBlobs, full: boolean): Promise<CommitResult> {
  const { run, progress, opts, encrypted } = ctx;
  progress.finishing();
  return run.commit(async () => {
    // A run that could not be checked (a wrong password for --verify…) does not count either.
    const refusal = await checkRunBeforeComplete(
      run,
      reused.reused,
      encrypted,
      opts,
      (phase) => progress.setPhase(phase),
      ctx.cancel.signal,
    );
    if (refusal) throw refusalError(refusal);
  }, full);
}

/** The run itself, once mobilebackup2 is up and the sync lock held: Info.plist, the request, the checks. */
async function transfer(ctx: RunContext, mb2: MobileBackup2Client, sync: SyncSession): Promise<BackupResult> {
  const { device, opts, run, progress } = ctx;
  await run.removeStaleTemps();
  await writeInfoPlist(device, sync.afc, run, ctx.values, ctx.now());
  const reused = new ReusedBlobs(await prepareLeftovers(run, ctx.encrypted, opts));
  const unreadable = await run.followUnreadable();
  followDevice(sync, progress, ctx.cancel);
  progress.devicePreparing();
  const request: PlistDict = { MessageName: 'Backup', TargetIdentifier: device.udid, SourceIdentifier: device.udid };
  if (opts.full) request.Options = { ForceFullBackup: true };
  const diskFull: { path?: string } = {};
  const response = await mb2.run(request, storeTarget(run.store), observer(ctx, reused, unreadable, diskFull), {
    waitMs: deviceWaitMs(opts.waitMs),
    signal: ctx.cancel.signal,
  });
  const status = await checkResponse(ctx, response, diskFull.path);
  const date = (status.date ?? ctx.now()).toISOString();
  const full = status.isFullBackup ?? ctx.full;
  const committed = await complete(ctx, reused, full);
  return {
    udid: device.udid,
    path: run.deviceDir,
    full,
    date,
    sizeBytes: committed.sizeBytes,
    filesReceived: progress.state.filesDone,
    bytesReceived: progress.state.bytesDone,
    durationMs: Date.now() - ctx.started,
    encrypted: ctx.encrypted,
    unreadableFiles: unreadable.now,
    reusedFiles: reused.reused.size,
    verified: opts.verify === true,
    history: {
      id: committed.id,
      versionMade: committed.versionMade ?? null,
      pruned: committed.pruned,
      off: committed.historyOff === true,
    },
  };
}

/** Starts mobilebackup2, takes the sync lock and runs; a run that ends early leaves the kept copy whole. */
async function runWithDevice(ctx: RunContext, sync: SyncSession): Promise<BackupResult> {
  let mb2: MobileBackup2Client | undefined;
  try {
    mb2 = new MobileBackup2Client(await ctx.device.startService(MOBILEBACKUP2_SERVICE, { escrowBag: true }));
    await mb2.handshake(ctx.cancel.signal);
    await sync.lock(ctx.cancel.signal);
    return await transfer(ctx, mb2, sync);
  } catch (err) {
    // The copy this run was filling becomes the last complete backup on its own.
    await ctx.run.abandon().catch(() => undefined);
    if (ctx.cancel.signal.aborted) throw ctx.cancel.error(err);
    if (isNoSpace(err)) throw diskFullError(ctx.opts.root, err);
    throw err;
  } finally {
    ctx.cancel.dispose();
    await mb2?.disconnect();
    await sync.close();
  }
}

/** Back Up Now, holding the phone's lock file: never two runs on one phone, across processes too. */
export async function backupDevice(device: HostDevice, opts: BackupOptions): Promise<BackupResult> {
  const lock = await DeviceLock.acquire(opts.root, device.udid, { purpose: opts.lockPurpose ?? 'backup' });
  try {
    return await withPhotoCounts(device, await backupUnlocked(device, opts), opts);
  } finally {
    await lock.release();
  }
}

async function backupUnlocked(device: HostDevice, opts: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  tuneHeapForStreaming();
  const now = opts.now ?? (() => new Date());
  const run = await BackupRun.open(opts.root, device.udid, {
    ...(opts.fs ? { fs: opts.fs } : {}),
    allowCopy: opts.allowCopy === true,
    now,
  });
  const progress = new BackupProgressState(opts.onProgress);
  progress.emit();
  const values = await readDeviceValues(device, opts.signal);
  const encrypted = values.backup.WillEncrypt === true;
  const full = await checkComputer(run, values, opts);
  const sync = await openSyncSession(device, opts.signal, opts.onWarning ? { onWarning: opts.onWarning } : {});
  // A cancel here or on the iPhone hangs up (DLMessageDisconnect, then the socket): the phone
  // stops on that alone, and libimobiledevice never posts a cancel request to it.
  const cancel = new RunCancel(opts.signal);
  const ctx: RunContext = { device, opts, run, progress, cancel, values, encrypted, full, started, now };
  return runWithDevice(ctx, sync);
}
