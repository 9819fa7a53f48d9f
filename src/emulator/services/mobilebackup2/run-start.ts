/**
 * What a phone does between a request and its first DeviceLink message, per iOS generation
 * (ios-generations.ts): the passcode prompt, the snapshot an interrupted iOS 15 run left behind,
 * and the silence while it prepares a backup's snapshot. Every wait ends when the run is
 * cancelled (owner's cancel, host gone).
 */
import {
  SNAPSHOT_EXISTS_CODE,
  SNAPSHOT_EXISTS_DESCRIPTION,
  defaultPreparationSeconds,
  keepsSnapshotOfInterruptedRun,
  scaledMs,
} from '../../ios-generations.js';
import { askForPasscode, sleep, type PasscodeReason } from '../../passcode.js';
import type { DeviceBehaviour, PasscodeBehaviour } from '../../profile-types.js';
import { Mb2Failure } from './index.js';

/** The answer of a phone whose passcode prompt timed out (libimobiledevice issue 1380). */
export const DEVICE_LOCKED_DESCRIPTION = 'Device locked (MBErrorDomain/208)';

export interface RunStartDevice {
  productVersion: string;
  /** A passcode is set: a phone without one has nothing to ask (libimobiledevice issue 1381). */
  passcodeSet: boolean;
  behaviour: Pick<DeviceBehaviour, 'passcodeTimeoutSeconds' | 'preparationSeconds' | 'timeScale'>;
  /** The owner's current answer to the prompt (changed by `ctl passcode`). */
  passcode: () => PasscodeBehaviour;
  /** An earlier run's snapshot is still on the phone (an interrupted iOS 15 run). */
  snapshotLeftBehind: () => boolean;
  post: (name: string) => void;
}

/** The passcode prompt for `reason`; throws 208 "Device locked" when it times out. */
export async function confirmPasscode(dev: RunStartDevice, reason: PasscodeReason, signal: AbortSignal): Promise<void> {
  if (!dev.passcodeSet) return;
  const entered = await askForPasscode(
    {
      productVersion: dev.productVersion,
      reason,
      behaviour: dev.passcode,
      timeoutSeconds: dev.behaviour.passcodeTimeoutSeconds,
      timeScale: dev.behaviour.timeScale,
      post: dev.post,
    },
    signal,
  );
  if (!entered) throw new Mb2Failure(208, DEVICE_LOCKED_DESCRIPTION);
}

/** Seconds this phone prepares a backup's snapshot: the profile's figure, else its generation's. */
export function preparationSeconds(dev: Pick<RunStartDevice, 'productVersion' | 'behaviour'>): number {
  return dev.behaviour.preparationSeconds ?? defaultPreparationSeconds(dev.productVersion);
}

/**
 * The start of a Backup run: passcode (16.1+), then the snapshot — refused on iOS 15 while an
 * interrupted run's is still there (libimobiledevice issue 1257) — prepared in silence (16.1+:
 * libimobiledevice issues 1413, 1707).
 */
export async function startBackupRun(dev: RunStartDevice, signal: AbortSignal): Promise<void> {
  await confirmPasscode(dev, 'backup', signal);
  if (keepsSnapshotOfInterruptedRun(dev.productVersion) && dev.snapshotLeftBehind()) {
    throw new Mb2Failure(SNAPSHOT_EXISTS_CODE, SNAPSHOT_EXISTS_DESCRIPTION);
  }
  const silence = scaledMs(preparationSeconds(dev), dev.behaviour.timeScale);
  if (silence > 0) await sleep(silence, signal);
}
