/** "The disk is full", in plain words, whichever way it was noticed. */
import { IbackupError } from '../errors.js';

/** True for an errno error meaning no space (or quota) is left. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The error a backup ends with when the disk filled up during the run. */
export function diskFullError(root: string, cause?: unknown): IbackupError {
  return new IbackupError('DISK_FULL', {
    message: `The disk holding ${root} ran out of space during the backup. The last complete backup is kept.`,
    remedy: 'Free some space or choose another folder with --backup-dir, then run the backup again.',
    details: { path: root },
    ...(cause === undefined ? {} : { cause }),
  });
}
