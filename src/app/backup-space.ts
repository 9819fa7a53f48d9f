/**
 * Room on this computer before a backup. A backup is never refused when it could fit: the
 * iPhone's used space counts apps, caches and photos kept only in iCloud, none of which are in a
 * backup, so it is no measure of what a backup needs. The iPhone itself asks the computer for its
 * free space and stops with error 105 when it does not fit (libimobiledevice answers the same
 * question and decides nothing before: idevicebackup2.c); a disk that fills during the run gives
 * DISK_FULL and the last complete backup stays as it was. So: an estimate from this device's
 * previous backup where there is one, a warning when the disk looks short, and a refusal only
 * below a floor no backup fits in.
 */
import { IbackupError } from '../errors.js';
import { numberValue, type PlistDict } from '../protocol/plist/index.js';
import { formatBytes } from './format-bytes.js';

/**
 * The iPhone's used data space from lockdown's com.apple.disk_usage (data capacity less what is
 * available; the system partition left out), or null when it does not tell.
 */
export function dataUsedBytes(disk: PlistDict): number | null {
  const total = numberValue(disk.TotalDataCapacity);
  const avail = numberValue(disk.TotalDataAvailable);
  return total !== undefined && avail !== undefined ? Math.max(0, total - avail) : null;
}

/** Below this, not even the manifests and settings of a backup fit: refused. */
export const MIN_FREE_BYTES = 32_000_000;

export interface SpaceFacts {
  root: string;
  free: number;
  /** The iPhone's used space (lockdown's disk usage), when it tells. */
  usedOnPhone: number | null;
  /** The size of this device's last complete backup here, when known. */
  previousBackupBytes: number | undefined;
  /** A full backup (the first, or --full): every file is sent again. */
  full: boolean;
  first: boolean;
}

/**
 * Throws DISK_FULL when a full backup meets a disk below the floor (an incremental may need only
 * a little: the iPhone's own check and the disk decide); returns the warning to show, if any.
 */
export function checkBackupSpace(f: SpaceFacts): string | undefined {
  if (f.full && f.free < MIN_FREE_BYTES) {
    throw new IbackupError('DISK_FULL', {
      message: `Not enough free space for a ${f.first ? 'first' : 'full'} backup: ${f.root} has ${formatBytes(f.free)} free, and no backup fits in less than ${formatBytes(MIN_FREE_BYTES)}.`,
      remedy: `Free some space on that disk (${formatBytes(MIN_FREE_BYTES - f.free)} at the very least; a backup needs about as much as the iPhone's own data), or choose another folder with --backup-dir.`,
      details: { neededBytes: MIN_FREE_BYTES, freeBytes: f.free, path: f.root },
    });
  }
  if (f.full && f.previousBackupBytes !== undefined && f.free < f.previousBackupBytes) {
    return `${f.root} has ${formatBytes(f.free)} free; this iPhone's last backup took ${formatBytes(f.previousBackupBytes)}, and a full backup sends every file again. If the disk fills, the backup stops and the last complete backup stays as it was.`;
  }
  if (f.first && f.usedOnPhone !== null && f.free < f.usedOnPhone) {
    return `${f.root} has ${formatBytes(f.free)} free and the iPhone uses ${formatBytes(f.usedOnPhone)}. A backup is usually much smaller (apps, caches and iCloud Photos are not in it), so ibackup tries; if the disk fills, the backup stops safely and says so.`;
  }
  return undefined;
}
