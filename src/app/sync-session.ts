/**
 * The ceremony around a backup that real hosts perform: notification_proxy (observe cancel and
 * passcode notifications, post the sync notifications), the AFC sync lock, and the services'
 * orderly shutdown in every case.
 */
import { IbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import { AFC_SERVICE, AfcClient, SYNC_LOCK_FILE } from '../host/services/afc.js';
import { NP_SERVICE, NotificationProxyClient, Notifications } from '../host/services/notification-proxy.js';

const LOCK_TRIES = 50;
const LOCK_RETRY_MS = 200;

export interface SyncSession {
  np: NotificationProxyClient;
  afc: AfcClient;
  /** Posts a notification on a fresh connection, as libimobiledevice does. */
  post(name: string): Promise<void>;
  /** Takes the sync lock (the iPhone shows "Syncing"); throws when another computer holds it. */
  lock(signal?: AbortSignal): Promise<void>;
  /** Releases the lock, posts syncDidFinish, closes the services. Never throws. */
  close(): Promise<void>;
}

export async function openSyncSession(device: HostDevice, signal?: AbortSignal): Promise<SyncSession> {
  const np = new NotificationProxyClient(await device.startService(NP_SERVICE, signal ? { signal } : {}));
  await np.observe(
    Notifications.syncCancelRequest,
    Notifications.syncSuspendRequest,
    Notifications.syncResumeRequest,
    Notifications.backupDomainChanged,
    Notifications.passcodePresented,
    Notifications.passcodeDismissed,
  );
  let afc: AfcClient;
  try {
    afc = new AfcClient(await device.startService(AFC_SERVICE, signal ? { signal } : {}));
  } catch (err) {
    await np.close();
    throw err;
  }
  let handle: number | undefined;
  let locked = false;
  const post = async (name: string): Promise<void> => {
    const link = await device.startService(NP_SERVICE);
    const c = new NotificationProxyClient(link);
    try {
      await c.post(name);
    } finally {
      await c.close();
    }
  };
  return {
    np,
    afc,
    post,
    lock: async (sig) => {
      await post(Notifications.syncWillStart);
      handle = await afc.open(SYNC_LOCK_FILE, 2);
      await post(Notifications.syncLockRequest);
      for (let i = 0; i < LOCK_TRIES; i++) {
        if (sig?.aborted) throw new IbackupError('CANCELLED');
        if (await afc.lock(handle, 2 | 4)) {
          locked = true;
          await post(Notifications.syncDidStart);
          return;
        }
        await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
      }
      throw new IbackupError('DEVICE_ERROR', {
        message: 'Another computer or app is syncing with the iPhone.',
        remedy: 'Close iTunes, Finder, Apple Devices or other iPhone tools, then try again.',
      });
    },
    close: async () => {
      if (handle !== undefined) {
        if (locked) await afc.lock(handle, 8 | 4).catch(() => undefined);
        await afc.close(handle).catch(() => undefined);
      }
      if (locked) await post(Notifications.syncDidFinish).catch(() => undefined);
      afc.disconnect();
      await np.close().catch(() => undefined);
    },
  };
}
