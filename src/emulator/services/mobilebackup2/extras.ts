/**
 * What a virtual iPhone adds to its mobilebackup2 service beyond plain backups: the start of a
 * backup run per iOS generation (passcode prompt, snapshot, preparation: run-start.ts), encryption
 * of backups with the password it keeps, ChangePassword, and Restore followed by a reboot.
 */
import { join } from 'node:path';
import type { DeviceContent } from '../../content/index.js';
import type { DeviceProfile, PasscodeBehaviour } from '../../profile-types.js';
import type { AfcFileSystem } from '../afc-fs.js';
import type { NotificationBus } from '../notification-proxy.js';
import type { BackupCrypto } from './backup-script.js';
import { changePasswordHandler } from './change-password.js';
import { backupCrypto, BackupKeyStore } from './encryption.js';
import type { Mb2Handler } from './index.js';
import { restoreHandler } from './restore.js';
import type { ReinstalledApps } from './restore-apps.js';
import { confirmPasscode, startBackupRun, type RunStartDevice } from './run-start.js';

/** Posted by a host when it is done with the device (after unlocking the sync lock). */
export const SYNC_DID_FINISH = 'com.apple.itunes-client.syncDidFinish';
/** Longest wait for the host to finish before the device reboots anyway. */
const REBOOT_WAIT_MS = 5_000;
/** Time left to the host between its goodbye and the reboot. */
const REBOOT_GRACE_MS = 500;

export interface BackupExtras {
  /** What the phone does before a Backup run's first message (passcode, snapshot, preparation). */
  startRun: (signal: AbortSignal) => Promise<void>;
  /** The encryption of a Backup run. */
  crypto: () => Promise<BackupCrypto | undefined>;
  handlers: Record<string, Mb2Handler>;
}

/** What the extras use of the phone's runtime (its content, media partition and notifications). */
export interface ExtrasRuntime {
  readonly bus: Pick<NotificationBus, 'post' | 'on' | 'off'>;
  readonly content: DeviceContent;
  readonly afc: AfcFileSystem;
  readonly reinstalledApps: ReinstalledApps;
  /** A Backup run the host walked away from left its snapshot (read when a run starts). */
  readonly snapshotLeftBehind: boolean;
  saveJournal(): Promise<void>;
  /** Detaches the device and plugs it back in. */
  onReboot(): void;
}

/** What the extras use of the phone itself: its identity, passcode and kept settings. */
export interface ExtrasDevice {
  readonly udid: string;
  readonly passcode: PasscodeBehaviour;
  readonly state: {
    readonly dir: string;
    settings(): { readonly backupPassword: string | null };
    updateSettings(patch: { backupPassword: string | null }): Promise<void>;
  };
}

export function backupExtras(runtime: ExtrasRuntime, device: ExtrasDevice, profile: DeviceProfile): BackupExtras {
  const keys = new BackupKeyStore(device.state.dir);
  const dpic = profile.behaviour.keyDerivationIterations;
  const post = (name: string): void => runtime.bus.post(name);

  const phone: RunStartDevice = {
    productVersion: profile.identity.productVersion,
    passcodeSet: profile.identity.passcodeSet,
    behaviour: profile.behaviour,
    passcode: () => device.passcode,
    snapshotLeftBehind: () => runtime.snapshotLeftBehind,
    post,
  };

  const crypto = async (): Promise<BackupCrypto | undefined> => {
    const password = device.state.settings().backupPassword;
    if (password === null) return undefined;
    const k = await keys.loadOrCreate();
    return backupCrypto(k, await keys.kek(k, password, dpic), dpic);
  };

  const identity = profile.identity;
  return {
    startRun: (signal) => startBackupRun(phone, signal),
    crypto,
    handlers: {
      ChangePassword: changePasswordHandler({
        udid: device.udid,
        password: () => device.state.settings().backupPassword,
        setPassword: async (password) => {
          if (password !== null) await keys.loadOrCreate();
          await device.state.updateSettings({ backupPassword: password });
        },
        confirmPasscode: (signal) => confirmPasscode(phone, 'password-change', signal),
        post,
      }),
      Restore: restoreHandler({
        udid: device.udid,
        content: runtime.content,
        apps: { afc: runtime.afc, reinstalled: runtime.reinstalledApps },
        stagingDir: join(device.state.dir, 'restore-staging'),
        freeBytes: () => Math.max(0, identity.totalCapacityBytes - identity.usedBytes),
        restored: async (reboot) => {
          await runtime.saveJournal();
          if (reboot) rebootWhenHostIsDone(runtime);
        },
      }),
    },
  };
}

/** Reboots once the host said it is done (or after a while), leaving it a moment to hang up. */
function rebootWhenHostIsDone(runtime: ExtrasRuntime): void {
  let fired = false;
  const go = (): void => {
    if (fired) return;
    fired = true;
    runtime.bus.off('post', onPost);
    clearTimeout(fallback);
    setTimeout(() => runtime.onReboot(), REBOOT_GRACE_MS);
  };
  const onPost = (name: string): void => {
    if (name === SYNC_DID_FINISH) go();
  };
  runtime.bus.on('post', onPost);
  const fallback = setTimeout(go, REBOOT_WAIT_MS);
}
