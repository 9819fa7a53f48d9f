/** MobileBackup error codes (the `ErrorCode` of a final Response) → errors in plain words. */
import { IbackupError, type ErrorCode } from '../../errors.js';

interface Mapping {
  code: ErrorCode;
  message: string;
  remedy?: string;
}

export const MOBILEBACKUP_ERRORS: Readonly<Record<number, Mapping>> = {
  1: { code: 'DEVICE_BACKUP_ERROR', message: 'The iPhone could not complete the request.' },
  // iOS 15 after an interrupted run: "Failed to create snapshot: File exists (17) at path
  // /private/var"; restarting the phone clears it (libimobiledevice issue 1257).
  3: {
    code: 'DEVICE_SNAPSHOT_STUCK',
    message:
      'The iPhone could not start a new backup: the snapshot of an interrupted backup is still on the phone (iOS 15 keeps it until it restarts).',
    remedy: 'Restart the iPhone (turn it off and on again), then run the backup again.',
  },
  4: {
    code: 'BACKUP_NOT_FOUND',
    message: 'The iPhone could not find a file it needs in the backup folder.',
    remedy: 'Check the backup folder, or make a new backup.',
  },
  25: {
    code: 'DEVICE_BACKUP_ERROR',
    message: 'The iPhone is restoring from iCloud.',
    remedy: 'Wait until the iCloud restore has finished, then try again.',
  },
  100: {
    code: 'DEVICE_BACKUP_ERROR',
    message: 'The connection to the iPhone failed during the backup.',
    remedy: 'Reconnect the iPhone, keep it unlocked, and try again.',
  },
  101: {
    code: 'DEVICE_BACKUP_ERROR',
    message: 'The iPhone hit an internal error.',
    remedy: 'Restart the iPhone, reconnect it and try again.',
  },
  102: {
    code: 'DEVICE_BACKUP_ERROR',
    message: 'The iPhone hit an internal error.',
    remedy: 'Restart the iPhone, reconnect it and try again.',
  },
  104: {
    code: 'DEVICE_BACKUP_ERROR',
    message: 'The backup folder could not be cleaned up.',
    remedy: 'Run the backup again.',
  },
  105: {
    code: 'DISK_FULL',
    message: 'There is not enough free space on this computer for the backup.',
    remedy: 'Free some space or choose another folder with --backup-dir, then try again.',
  },
  106: {
    code: 'DEVICE_BACKUP_ERROR',
    message: 'There is not enough free space on the iPhone.',
    remedy: 'Free some space on the iPhone, then try again.',
  },
  202: {
    code: 'CANCELLED',
    message: 'The backup was cancelled on the iPhone; the last complete backup is unchanged.',
    remedy: 'Run the backup again when you want it.',
  },
  203: {
    code: 'DEVICE_BACKUP_ERROR',
    message: 'The existing backup is in a format the iPhone does not accept.',
    remedy: 'Run "ibackup backup --full".',
  },
  205: {
    code: 'BACKUP_CORRUPT',
    message: 'The iPhone found the existing backup inconsistent.',
    remedy: 'Run "ibackup backup --full" to make a fresh backup.',
  },
  207: {
    code: 'WRONG_PASSWORD',
    message: 'The backup password is wrong, or the iPhone requires an encrypted backup.',
    remedy:
      'Check the backup password; if device management requires encryption, turn it on with "ibackup encryption on".',
  },
  // iOS 16.1+: the phone asks for its passcode after the Backup request and gives up after about
  // three minutes with "Device locked" (libimobiledevice issue 1380).
  208: {
    code: 'PASSCODE_REQUIRED',
    message:
      'The iPhone is locked and its passcode was not entered, so it stopped (it asks for the passcode when a backup starts).',
    remedy:
      'Unlock the iPhone, run the backup again and enter the passcode on the iPhone when it asks; keep it unlocked until the backup is under way.',
  },
  212: {
    code: 'DEVICE_BACKUP_ERROR',
    message: 'The iPhone has not finished its setup.',
    remedy: 'Finish setting up the iPhone, then try again.',
  },
};

export function mobileBackupError(code: number, description: string): IbackupError {
  const m = MOBILEBACKUP_ERRORS[code];
  const details = { mobileBackupCode: code, ...(description ? { description } : {}) };
  if (!m) {
    return new IbackupError('DEVICE_BACKUP_ERROR', {
      message: `The iPhone reported error ${code}${description ? `: ${description}` : ''}.`,
      details,
    });
  }
  return new IbackupError(m.code, { message: m.message, ...(m.remedy ? { remedy: m.remedy } : {}), details });
}
