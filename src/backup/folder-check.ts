/**
 * Whether a folder can hold backups: it exists and is a folder, this user can write in it, its
 * disk makes hard links (the history keeps versions as links), and how much room is free. Checked
 * with a small probe file and a link to it, both removed again.
 */
import { randomBytes } from 'node:crypto';
import { link, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { IbackupError } from '../errors.js';
import { freeBytesNear } from './disk-full.js';
import { NO_LINKS } from './hard-links.js';

export interface FolderCheck {
  path: string;
  freeBytes: number;
  hardLinks: boolean;
}

function unsuitable(dir: string, message: string, remedy: string, cause?: unknown): IbackupError {
  return new IbackupError('BACKUP_FOLDER_UNSUITABLE', {
    message,
    remedy,
    details: { path: dir },
    ...(cause === undefined ? {} : { cause }),
  });
}

async function mustBeFolder(dir: string): Promise<void> {
  if (!isAbsolute(dir) || dir.includes('\0'))
    throw unsuitable(dir, 'The backup folder must be a full path.', 'Type the whole path, starting from the top.');
  const s = await stat(dir).catch(() => null);
  if (s === null)
    throw unsuitable(dir, `There is no folder ${dir}.`, 'Create the folder first (or check the path), then choose it.');
  if (!s.isDirectory()) throw unsuitable(dir, `${dir} is a file, not a folder.`, 'Choose a folder.');
}

/** Writes a probe file and links it: whether the disk makes hard links (false on exFAT, FAT). */
async function probe(dir: string): Promise<boolean> {
  const name = join(dir, `.ibackup-probe-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(name, 'ibackup', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    throw unsuitable(
      dir,
      `ibackup cannot write in ${dir}.`,
      'Choose a folder you may change (on a mounted disk that is not read-only).',
      err,
    );
  }
  try {
    await link(name, `${name}.link`);
    return true;
  } catch (err) {
    if (NO_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  } finally {
    await rm(`${name}.link`, { force: true });
    await rm(name, { force: true });
  }
}

/** Checks `dir` as a backup folder; BACKUP_FOLDER_UNSUITABLE saying why when it cannot be one. */
export async function checkBackupFolder(dir: string): Promise<FolderCheck> {
  await mustBeFolder(dir);
  const hardLinks = await probe(dir);
  if (!hardLinks)
    throw unsuitable(
      dir,
      `The disk of ${dir} cannot make hard links (exFAT and FAT disks cannot), which the backup history needs.`,
      'Choose a folder on a disk formatted APFS, HFS+, NTFS or ext4.',
    );
  return { path: dir, freeBytes: await freeBytesNear(dir), hardLinks };
}
