/**
 * The backup folder as the web app shows and changes it: where backups go, why (the option, the
 * environment, the folder chosen here, or the OS default) and the room left; choosing another
 * checks it (exists, writable, hard links, free space) and saves it in ibackup's own settings,
 * which rank after --backup-dir and IBACKUP_BACKUP_DIR and before the OS default.
 */
import { isAbsolute, normalize } from 'node:path';
import { freeBytesNear } from '../backup/disk-full.js';
import { checkBackupFolder, type FolderCheck } from '../backup/folder-check.js';
import { writeOwnSettings } from '../backup/own-settings.js';
import type { RootSource } from '../backup/roots.js';
import { IbackupError } from '../errors.js';

export type { RootSource };

export interface BackupFolderInfo {
  path: string;
  source: RootSource;
  /** Free bytes on its disk (null when it cannot be read). */
  freeBytes: number | null;
}

export async function describeBackupFolder(path: string, source: RootSource): Promise<BackupFolderInfo> {
  return { path, source, freeBytes: await freeBytesNear(path).catch(() => null) };
}

/** Checks `dir` and saves it as the backup folder in ibackup's settings (under `configDir`). */
export async function chooseBackupFolder(dir: string, configDir: string): Promise<FolderCheck> {
  if (!isAbsolute(dir) || dir.includes('\0'))
    throw new IbackupError('BACKUP_FOLDER_UNSUITABLE', {
      message: 'The backup folder must be a full path.',
      remedy: 'Type the whole path, starting from the top.',
    });
  const check = await checkBackupFolder(normalize(dir).replace(/(.)[\\/]+$/, '$1'));
  await writeOwnSettings(configDir, { backupDir: check.path });
  return check;
}
