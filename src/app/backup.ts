/**
 * Back Up Now: a full or incremental backup of one device into `<root>/<UDID>/`, in Apple's
 * format, with progress events, a free-space check before a first backup, cancellation that
 * tells the device, and errors in plain words. Nothing here prints.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SizeLedger } from '../backup/size-ledger.js';
import { removeStaleTemps } from '../backup/stale-temps.js';
import { isSnapshotFinished, readStatusPlist } from '../backup/status.js';
import { BackupStore } from '../backup/store.js';
import type { FsLayer } from '../backup/fs-layer.js';
import { Preserver } from '../backup/preserve.js';
import { diskFullError, isNoSpace } from '../backup/disk-full.js';
import { IbackupError, isIbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import type { AfcClient } from '../host/services/afc.js';
import { INSTALLATION_PROXY_SERVICE, browseUserApps } from '../host/services/installation-proxy.js';
import { MOBILEBACKUP2_SERVICE, MobileBackup2Client } from '../host/services/mobilebackup2.js';
import { Notifications } from '../host/services/notification-proxy.js';
import { SPRINGBOARD_SERVICE, fetchAppIcons } from '../host/services/springboard.js';
import { isPlistDict, numberValue, parsePlist, serializeXmlPlist, type PlistDict } from '../protocol/plist/index.js';
import { storeTarget } from './backup-target.js';
import { mobileBackupError } from './mobilebackup-errors.js';
import { ITUNES_FILES, buildInfoPlist } from './info-plist.js';
import { openSyncSession } from './sync-session.js';
import { tuneHeapForStreaming } from './heap-tuning.js';
import { formatBytes } from './doctor.js';

export const GIB = 1024 ** 3;
/** How long the iPhone may wait for its passcode before the host gives up (it gives up at 30 min). */
export const PASSCODE_WAIT_MS = 35 * 60_000;
const CANCELLED_MESSAGE = 'The backup was cancelled; the last complete backup is unchanged.';

export type BackupPhase = 'preparing' | 'waiting-for-passcode' | 'backing-up' | 'finishing';

export interface BackupProgress {
  phase: BackupPhase;
  /** The device's own percent (0–100). */
  percent?: number;
  bytesDone: number;
  bytesTotal?: number;
  filesDone: number;
  currentPath?: string;
}

export interface BackupOptions {
  /** The backup folder (the device's folder is `<root>/<UDID>`). */
  root: string;
  full?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: BackupProgress) => void;
  /** Warnings worth telling the user (low space for an incremental…). */
  onWarning?: (message: string) => void;
  now?: () => Date;
  /** Copy the last complete backup when the disk cannot make hard links (the user agreed). */
  allowCopy?: boolean;
  /** The file system (tests inject faults and record flushes). */
  fs?: FsLayer;
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
}

export async function backupDevice(device: HostDevice, opts: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  tuneHeapForStreaming();
  const now = opts.now ?? (() => new Date());
  const udid = device.udid;
  // The last complete backup is kept (hard links) from the first change until this run is flushed.
  const preserver = new Preserver(opts.root, udid, { ...(opts.fs ? { fs: opts.fs } : {}), allowCopy: opts.allowCopy === true });
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
  const values = await device.withSession(async (l) => ({
    root: await l.getDomain(),
    itunes: await l.getDomain('com.apple.iTunes').catch(() => ({})),
    minItunes: await l.getValue('com.apple.mobile.iTunes', 'MinITunesVersion').catch(() => null),
    backup: await l.getDomain('com.apple.mobile.backup').catch((): PlistDict => ({})),
    disk: await l.getDomain('com.apple.disk_usage').catch((): PlistDict => ({})),
  }), opts.signal);
  const encrypted = values.backup.WillEncrypt === true;
  await mkdir(opts.root, { recursive: true });
  const hasComplete = await readStatusPlist(store.deviceDir).then(isSnapshotFinished, () => false);
  const used = usedBytes(values.disk);
  const free = await store.freeSpace();
  const full = opts.full === true || !hasComplete;
  if (full && used !== null && free < used + GIB) {
    throw new IbackupError('DISK_FULL', {
      message: `Not enough free space for a ${hasComplete ? 'full' : 'first'} backup: it needs about ${formatBytes(used + GIB)} (the iPhone's ${formatBytes(used)} plus 1 GiB), and ${opts.root} has ${formatBytes(free)} free.`,
      remedy: `Free ${formatBytes(used + GIB - free)} on that disk, or choose another folder with --backup-dir.`,
      details: { neededBytes: used + GIB, freeBytes: free, path: opts.root },
    });
  }
  if (!full && used !== null && free < used + GIB) {
    opts.onWarning?.(`Only ${formatBytes(free)} free in ${opts.root}; an incremental backup needs room for what changed.`);
  }

  const sync = await openSyncSession(device, opts.signal);
  let mb2: MobileBackup2Client | undefined;
  const cancel = (): void => void sync.post(Notifications.syncCancelRequest).catch(() => undefined);
  opts.signal?.addEventListener('abort', cancel, { once: true });
  try {
    mb2 = new MobileBackup2Client(await device.startService(MOBILEBACKUP2_SERVICE, { escrowBag: true }));
    await mb2.handshake(opts.signal);
    await sync.lock(opts.signal);
    // A figure still true means no run changed the folder since the last complete one: no leftovers.
    if (!sizes.known) await removeStaleTemps(store.fs, store.deviceDir);
    await writeInfoPlist(device, sync.afc, store, udid, values, now());

    sync.np.on('notification', (name) => {
      if (name === Notifications.passcodePresented) {
        mb2?.setSilenceTimeout(PASSCODE_WAIT_MS);
        emit({ phase: 'waiting-for-passcode' });
      } else if (name === Notifications.passcodeDismissed) {
        mb2?.setSilenceTimeout(undefined);
        emit({ phase: 'backing-up' });
      } else if (name === Notifications.syncCancelRequest) cancel();
    });
    progress.phase = 'backing-up';
    progress.percent = 0;
    emit();
    const request: PlistDict = { MessageName: 'Backup', TargetIdentifier: udid, SourceIdentifier: udid };
    if (opts.full) request.Options = { ForceFullBackup: true };
    let diskFull: string | undefined;
    const response = await mb2.run(request, storeTarget(store), {
      progress: (percent) => {
        progress.percent = percent;
        emit();
      },
      bytes: (n) => {
        progress.bytesDone += n;
      },
      fileReceived: (path) => {
        progress.filesDone++;
        emit({ currentPath: path });
      },
      diskFull: (path) => {
        diskFull = path;
      },
    }, opts.signal ? { signal: opts.signal } : {});
    const code = numberValue(response.ErrorCode) ?? -1;
    if (opts.signal?.aborted) throw new IbackupError('CANCELLED', { message: CANCELLED_MESSAGE });
    if (code !== 0 || diskFull) {
      throw diskFull
        ? diskFullError(opts.root)
        : mobileBackupError(code, typeof response.ErrorDescription === 'string' ? response.ErrorDescription : '');
    }
    progress.phase = 'finishing';
    progress.percent = 100;
    emit();
    const status = await readStatusPlist(store.deviceDir).catch(() => undefined);
    if (!isSnapshotFinished(status)) {
      throw new IbackupError('BACKUP_INCOMPLETE', { message: 'The iPhone said the backup finished, but its Status.plist does not say "finished".' });
    }
    await store.flush();
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
    };
  } catch (err) {
    // The copy this run was filling becomes the last complete backup on its own.
    await preserver.abandon().catch(() => undefined);
    if (opts.signal?.aborted && !(isIbackupError(err) && err.code === 'CANCELLED' && err.message === CANCELLED_MESSAGE)) {
      throw new IbackupError('CANCELLED', { message: CANCELLED_MESSAGE, cause: err });
    }
    if (isNoSpace(err)) throw diskFullError(opts.root, err);
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', cancel);
    await mb2?.disconnect();
    await sync.close();
  }
}

/** Info.plist with the device's identity, apps and iTunes files (temp file, then rename). */
async function writeInfoPlist(
  device: HostDevice,
  afc: AfcClient,
  store: BackupStore,
  udid: string,
  values: { root: PlistDict; itunes: PlistDict; minItunes: unknown },
  date: Date,
): Promise<void> {
  const apps = await device.startService(INSTALLATION_PROXY_SERVICE).then((l) => browseUserApps(l), () => []);
  const withIcons = apps.filter((a) => a.ApplicationSINF instanceof Uint8Array && a.iTunesMetadata instanceof Uint8Array);
  const ids = withIcons.map((a) => a.CFBundleIdentifier).filter((id): id is string => typeof id === 'string');
  const icons =
    ids.length === 0
      ? new Map<string, Uint8Array>()
      : await device.startService(SPRINGBOARD_SERVICE).then((l) => fetchAppIcons(l, ids), () => new Map<string, Uint8Array>());
  const itunesFiles = new Map<string, Uint8Array>();
  for (const name of ITUNES_FILES) {
    const data = await afc.readFile(`/iTunes_Control/iTunes/${name}`).catch(() => null);
    if (data) itunesFiles.set(name, data);
  }
  const previous = await readFile(join(store.deviceDir, 'Info.plist')).then((b) => parsePlist(b), () => undefined);
  const guid = isPlistDict(previous) && typeof previous.GUID === 'string' ? previous.GUID : undefined;
  const info = buildInfoPlist({
    udid,
    root: values.root,
    itunesSettings: values.itunes,
    minItunesVersion: typeof values.minItunes === 'string' ? values.minItunes : null,
    apps,
    icons,
    itunesFiles,
    iBooksData: await afc.readFile('/Books/iBooksData2.plist').catch(() => null),
    date,
    ...(guid ? { guid } : {}),
  });
  await store.mkdirp(udid);
  const file = await store.createFile(`${udid}/Info.plist`);
  try {
    await file.write(serializeXmlPlist(info));
    await file.commit();
  } catch (err) {
    await file.abort();
    throw err;
  }
}

function usedBytes(disk: PlistDict): number | null {
  const total = numberValue(disk.TotalDataCapacity);
  const avail = numberValue(disk.TotalDataAvailable);
  if (total !== undefined && avail !== undefined) return Math.max(0, total - avail);
  return null;
}
