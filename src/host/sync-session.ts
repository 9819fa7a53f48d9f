/**
 * The ceremony around a backup that real hosts perform: notification_proxy (observe cancel and
 * passcode notifications, post the sync notifications), the AFC sync lock, and the services'
 * orderly shutdown in every case.
 */
import { IbackupError, hasCode } from '../errors.js';
import type { HostDevice } from './device.js';
import { AFC_SERVICE, AfcClient, SYNC_LOCK_FILE } from './services/afc.js';
import { afcStatusName } from '../protocol/afc.js';
import { NP_SERVICE, NotificationProxyClient, Notifications } from './services/notification-proxy.js';

const LOCK_TRIES = 50;
const LOCK_RETRY_MS = 200;

export interface SyncSession {
  np: NotificationProxyClient;
  afc: AfcClient;
  /** Posts a notification on a fresh connection, as libimobiledevice does. */
  post(name: string): Promise<void>;
  /**
   * Takes the sync lock (the iPhone shows "Syncing"); throws when another computer holds it. When
   * the lock file cannot be opened it goes on without the lock and adds a warning.
   */
  lock(signal?: AbortSignal): Promise<void>;
  /** What the user should know but did not stop the session (e.g. no sync lock), in order. */
  readonly warnings: readonly string[];
  /** Releases the lock, posts syncDidFinish, closes the services. Never throws. */
  close(): Promise<void>;
}

export interface SyncSessionOptions {
  /** Called with each warning as it happens (they are also kept in `warnings`). */
  onWarning?: (message: string) => void;
}

export async function openSyncSession(
  device: HostDevice,
  signal?: AbortSignal,
  opts: SyncSessionOptions = {},
): Promise<SyncSession> {
  const np = await observeSyncNotifications(device, signal);
  let afc: AfcClient;
  try {
    afc = new AfcClient(await device.startService(AFC_SERVICE, signal ? { signal } : {}));
  } catch (err) {
    await np.close();
    throw err;
  }
  return new OpenSyncSession(device, np, afc, opts);
}

/** A notification_proxy connection observing what the device says during a sync. */
async function observeSyncNotifications(device: HostDevice, signal?: AbortSignal): Promise<NotificationProxyClient> {
  const np = new NotificationProxyClient(await device.startService(NP_SERVICE, signal ? { signal } : {}));
  await np.observe(
    Notifications.syncCancelRequest,
    Notifications.syncSuspendRequest,
    Notifications.syncResumeRequest,
    Notifications.backupDomainChanged,
    Notifications.passcodePresented,
    Notifications.passcodeDismissed,
  );
  return np;
}

/** The session's methods are bound (arrow functions): callers may pass them on alone. */
class OpenSyncSession implements SyncSession {
  readonly warnings: string[] = [];
  /** The sync lock file's handle, once opened. */
  private handle: number | undefined;
  private locked = false;

  constructor(
    private readonly device: HostDevice,
    readonly np: NotificationProxyClient,
    readonly afc: AfcClient,
    private readonly opts: SyncSessionOptions,
  ) {}

  private readonly warn = (message: string): void => {
    this.warnings.push(message);
    this.opts.onWarning?.(message);
  };

  readonly post = async (name: string): Promise<void> => {
    const link = await this.device.startService(NP_SERVICE);
    const c = new NotificationProxyClient(link);
    try {
      await c.post(name);
    } finally {
      await c.close();
    }
  };

  readonly lock = async (sig?: AbortSignal): Promise<void> => {
    await this.post(Notifications.syncWillStart);
    this.handle = await openLockFile(this.afc, this.warn);
    // libimobiledevice goes on without the lock when the open fails, and then posts neither
    // syncLockRequest nor syncDidStart (idevicebackup2.c (master fa0f791) ~line 2166).
    if (this.handle === undefined) return;
    await this.post(Notifications.syncLockRequest);
    for (let i = 0; i < LOCK_TRIES; i++) {
      if (sig?.aborted) throw new IbackupError('CANCELLED');
      if (await this.afc.lock(this.handle, 2 | 4)) {
        this.locked = true;
        await this.post(Notifications.syncDidStart);
        return;
      }
      await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
    }
    // After 50 tries both references give up: idevicebackup2.c ~line 2187 ("timeout while
    // locking for sync"), pymobiledevice3 mobilebackup2.py ~line 677 ("Failed to lock").
    throw new IbackupError('DEVICE_ERROR', {
      message: 'Another computer or app is syncing with the iPhone.',
      remedy: 'Close iTunes, Finder, Apple Devices or other iPhone tools, then try again.',
    });
  };

  readonly close = async (): Promise<void> => {
    if (this.handle !== undefined) {
      if (this.locked) await this.afc.lock(this.handle, 8 | 4).catch(() => undefined);
      await this.afc.close(this.handle).catch(() => undefined);
    }
    if (this.locked) await this.post(Notifications.syncDidFinish).catch(() => undefined);
    this.afc.disconnect();
    await this.np.close().catch(() => undefined);
  };
}

/**
 * Opens the sync lock file ("r+", which creates it: libimobiledevice's afc.h documents mode 2 as
 * O_RDWR | O_CREAT). When the iPhone refuses, the session goes on without a lock, with a warning.
 */
async function openLockFile(afc: AfcClient, warn: (message: string) => void): Promise<number | undefined> {
  try {
    return await afc.open(SYNC_LOCK_FILE, 2);
  } catch (err) {
    if (!hasCode(err, 'DEVICE_ERROR')) throw err;
    const status =
      typeof err.details.afcStatus === 'number'
        ? (afcStatusName(err.details.afcStatus) ?? err.details.afcStatus)
        : 'refused';
    warn(
      `The iPhone's sync lock ${SYNC_LOCK_FILE} could not be opened (AFC: ${status}); going on without it, so the ` +
        'iPhone does not show "Syncing" and another computer is not kept from syncing at the same time.',
    );
    return undefined;
  }
}
