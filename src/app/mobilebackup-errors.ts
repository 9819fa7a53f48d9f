/** MobileBackup error codes (the `ErrorCode` of a final Response) → errors in plain words. */
import { IbackupError, type ErrorCode } from '../errors.js';

interface Mapping {
  code: ErrorCode;
  message: string;
  remedy?: string;
}

export const MOBILEBACKUP_ERRORS: Readonly<Record<number, Mapping>> = {
  1: { code: 'DEVICE_BACKUP_ERROR', message: 'The iPhone could not complete the request.' },
  4: { code: 'BACKUP_NOT_FOUND', message: 'The iPhone could not find a file it needs in the backup folder.', remedy: 'Check the backup folder, or make a new backup.' },
  25: { code: 'DEVICE_BACKUP_ERROR', message: 'The iPhone is restoring from iCloud.', remedy: 'Wait until the iCloud restore has finished, then try again.' },
  100: { code: 'DEVICE_BACKUP_ERROR', message: 'The connection to the iPhone failed during the backup.', remedy: 'Reconnect the iPhone, keep it unlocked, and try again.' },
  101: { code: 'DEVICE_BACKUP_ERROR', message: 'The iPhone hit an internal error.', remedy: 'Restart the iPhone, reconnect it and try again.' },
  102: { code: 'DEVICE_BACKUP_ERROR', message: 'The iPhone hit an internal error.', remedy: 'Restart the iPhone, reconnect it and try again.' },
  104: { code: 'DEVICE_BACKUP_ERROR', message: 'The backup folder could not be cleaned up.', remedy: 'Run the backup again.' },
  105: { code: 'DISK_FULL', message: 'There is not enough free space on this computer for the backup.', remedy: 'Free some space or choose another folder with --backup-dir, then try again.' },
  106: { code: 'DEVICE_BACKUP_ERROR', message: 'There is not enough free space on the iPhone.', remedy: 'Free some space on the iPhone, then try again.' },
  202: { code: 'CANCELLED', message: 'The backup was cancelled; the last complete backup is unchanged.' },
  203: { code: 'DEVICE_BACKUP_ERROR', message: 'The existing backup is in a format the iPhone does not accept.', remedy: 'Run "ibackup backup --full".' },
  205: { code: 'BACKUP_CORRUPT', message: 'The iPhone found the existing backup inconsistent.', remedy: 'Run "ibackup backup --full" to make a fresh backup.' },
  207: {
    code: 'WRONG_PASSWORD',
    message: 'The backup password is wrong, or the iPhone requires an encrypted backup.',
    remedy: 'Check the backup password; if device management requires encryption, turn it on with "ibackup encryption on".',
  },
  208: {
    code: 'DEVICE_LOCKED',
    message: 'The passcode was not entered on the iPhone, so it refused.',
    remedy: 'Unlock the iPhone and enter its passcode when it asks, then try again.',
  },
  212: { code: 'DEVICE_BACKUP_ERROR', message: 'The iPhone has not finished its setup.', remedy: 'Finish setting up the iPhone, then try again.' },
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
