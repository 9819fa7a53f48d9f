/** The disk's room: the free space where a folder is (or will be), and "the disk is full" in plain words, whichever way it was noticed. */
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { IbackupError } from '../errors.js';

/** Free bytes (available blocks × block size) on the disk of `dir`, or of its nearest existing parent. */
export async function freeBytesNear(dir: string): Promise<number> {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  const s = await statfs(d);
  return Number(s.bavail) * Number(s.bsize);
}

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
