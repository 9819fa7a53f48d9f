/**
 * The backup folder on the device page (Finder's General tab has no such line; ibackup's page
 * does, with Change…):
 *   GET  /api/settings/backup-folder   → BackupFolderView
 *   POST /api/settings/backup-folder   BackupFolderRequest → BackupFolderView (checked, saved, in use)
 */

/** Where the folder came from: --backup-dir, IBACKUP_BACKUP_DIR, the folder chosen here, the OS default. */
export type BackupFolderSource = 'option' | 'env' | 'setting' | 'default';

export interface BackupFolderView {
  path: string;
  source: BackupFolderSource;
  /** Free bytes on its disk (null when unknown). */
  freeBytes: number | null;
}

export interface BackupFolderRequest {
  /** A full path on this computer. */
  path: string;
}
