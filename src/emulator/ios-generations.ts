/**
 * What the virtual iPhone's backup service does differently per iOS generation, each rule with
 * the outside evidence it comes from (docs/devices.md lists them with how a host copes), and the
 * time scale that compresses every modelled delay of the phone and its owner.
 */

/** [major, minor] of an iOS version such as "17.5.1". */
export function iosVersion(productVersion: string): [number, number] {
  const [major = 0, minor = 0] = productVersion.split('.').map((p) => Number(p));
  return [major, minor];
}

function atLeast(productVersion: string, major: number, minor = 0): boolean {
  const [ma, mi] = iosVersion(productVersion);
  return ma > major || (ma === major && mi >= minor);
}

/**
 * The DeviceLink major version the phone offers: 300 up to iOS 13, 400 from iOS 14
 * (libimobiledevice issue 998: iOS 14 beta 4 offers 400; issue 248: iOS 8.1.2 offers 300).
 */
export function deviceLinkMajor(productVersion: string): 300 | 400 {
  return atLeast(productVersion, 14) ? 400 : 300;
}

/**
 * The Backup request waits for the passcode on the phone from iOS 16.1 (libimobiledevice issue
 * 1380: "in iOS version 16.1 phone requires you to enter passcode to start backup"; issue 1381).
 */
export function backupAsksForPasscode(productVersion: string): boolean {
  return atLeast(productVersion, 16, 1);
}

/**
 * ChangePassword (turning backup encryption on or off, or changing its password) waits for the
 * passcode from iOS 13 (libimobiledevice issue 835; idevicebackup2.c (master fa0f791) ~line 2451
 * tells the user to confirm on the phone from 13.0 when PasswordConfigured is true).
 */
export function passwordChangeAsksForPasscode(productVersion: string): boolean {
  return atLeast(productVersion, 13);
}

/**
 * Seconds the passcode prompt stays up before the request ends with 208 "Device locked":
 * "after roughly 3 minutes" on iOS 16.1 (libimobiledevice issue 1380).
 */
export const DEFAULT_PASSCODE_TIMEOUT_SECONDS = 180;

/**
 * Seconds the phone is silent after the passcode while it prepares the backup's snapshot, before
 * its first DeviceLink message: the phone of libimobiledevice issue 1413 (iOS 16.1.1) spent 62 s
 * (its device log, issue 1412: a 30 s receive timeout failed, 90 s worked); PR 1393 saw up to
 * 50 s and more than 2 min for 100 GB; issue 1707 needed 5 min on phones with 100 000+ photos.
 * Before 16.1 no report gives a figure, so 0 there.
 */
export function defaultPreparationSeconds(productVersion: string): number {
  return backupAsksForPasscode(productVersion) ? 60 : 0;
}

/**
 * iOS 15 keeps the snapshot of a backup run the host walked away from: every later Backup fails
 * with MBErrorDomain/3 "Failed to create snapshot: File exists" until the phone restarts
 * (libimobiledevice issue 1257, reported on 15.2 after a Ctrl-C; applied to all of 15.x).
 */
export function keepsSnapshotOfInterruptedRun(productVersion: string): boolean {
  return iosVersion(productVersion)[0] === 15;
}

export const SNAPSHOT_EXISTS_CODE = 3;
export const SNAPSHOT_EXISTS_DESCRIPTION =
  'Failed to create snapshot: File exists (17) at path "/private/var" (MBErrorDomain/3)';

/** Milliseconds of a modelled delay of `seconds`, compressed by the profile's time scale. */
export function scaledMs(seconds: number, timeScale: number): number {
  return Math.max(0, seconds * 1000 * timeScale);
}
