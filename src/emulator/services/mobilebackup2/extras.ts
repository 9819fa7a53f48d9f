/**
 * What a virtual iPhone adds to its mobilebackup2 service beyond plain backups: the passcode
 * prompt (iOS 16.1+), encryption of backups with the password it keeps, ChangePassword, and
 * Restore followed by a reboot.
 */
import { join } from 'node:path';
import type { DeviceRuntime } from '../../device-services.js';
import type { VirtualDevice } from '../../device.js';
import { askForPasscode } from '../../passcode.js';
import type { DeviceProfile } from '../../profile-types.js';
import type { BackupCrypto } from './backup-script.js';
import { changePasswordHandler } from './change-password.js';
import { backupCrypto, BackupKeyStore } from './encryption.js';
import { Mb2Failure, type Mb2Handler } from './index.js';
import { restoreHandler } from './restore.js';

/** Posted by a host when it is done with the device (after unlocking the sync lock). */
export const SYNC_DID_FINISH = 'com.apple.itunes-client.syncDidFinish';
/** Longest wait for the host to finish before the device reboots anyway. */
const REBOOT_WAIT_MS = 5_000;
/** Time left to the host between its goodbye and the reboot. */
const REBOOT_GRACE_MS = 500;

export interface BackupExtras {
  /** The encryption of a Backup run (asks for the passcode first). */
  crypto: (signal: AbortSignal) => Promise<BackupCrypto | undefined>;
  handlers: Record<string, Mb2Handler>;
}

export function backupExtras(runtime: DeviceRuntime, device: VirtualDevice, profile: DeviceProfile): BackupExtras {
  const keys = new BackupKeyStore(device.state.dir);
  const dpic = profile.behaviour.keyDerivationIterations;
  const post = (name: string): void => runtime.bus.post(name);

  const confirmPasscode = async (signal: AbortSignal): Promise<void> => {
    const entered = await askForPasscode(
      {
        productVersion: profile.identity.productVersion,
        behaviour: () => device.passcode,
        timeoutSeconds: profile.behaviour.passcodeTimeoutSeconds,
        post,
      },
      signal,
    );
    if (!entered) throw new Mb2Failure(208, 'Device locked: the passcode was not entered on the device (MBErrorDomain/208)');
  };

  const crypto = async (signal: AbortSignal): Promise<BackupCrypto | undefined> => {
    await confirmPasscode(signal);
    const password = device.state.settings().backupPassword;
    if (password === null) return undefined;
    const k = await keys.loadOrCreate();
    return backupCrypto(k, await keys.kek(k, password, dpic), dpic);
  };

  const identity = profile.identity;
  return {
    crypto,
    handlers: {
      ChangePassword: changePasswordHandler({
        udid: device.udid,
        password: () => device.state.settings().backupPassword,
        setPassword: async (password) => {
          if (password !== null) await keys.loadOrCreate();
          await device.state.updateSettings({ backupPassword: password });
        },
        confirmPasscode,
        post,
      }),
      Restore: restoreHandler({
        udid: device.udid,
        content: runtime.content,
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
function rebootWhenHostIsDone(runtime: DeviceRuntime): void {
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
