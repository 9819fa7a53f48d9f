/**
 * The `flags` column of Manifest.db's `Files` table (backup-format.md §5.3): what a row names.
 * One table for the reader of backups and for the virtual iPhone that writes them.
 */
export const FLAG_FILE = 1;
export const FLAG_DIRECTORY = 2;
export const FLAG_SYMLINK = 4;
