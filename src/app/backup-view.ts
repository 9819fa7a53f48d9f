/**
 * Opening a backup to browse it (`files ls|extract|cat`), plain or encrypted: the password is
 * asked for only when the backup is encrypted and no cached derived key opens it; the reading
 * itself is backup/browse.ts. Nothing is written into the backup.
 */
import { browseBackup, type BackupBrowser } from '../backup/browse.js';
import { readBackupFolder, type BackupFolder } from '../backup/folder.js';
import { unlockBackupKeybag, type UnlockOptions, type UnlockResult } from './password.js';

export type { BackupEntry, EntryFilter } from '../backup/browse.js';

export interface BackupView extends BackupBrowser {
  /** How an encrypted backup was opened; 'none' for a plain one. */
  readonly keySource: 'none' | 'password' | 'cache';
  /** Milliseconds spent unlocking the keybag (0 for a plain backup). */
  readonly unlockMs: number;
  /** Where `--save-key` stored the derived key. */
  readonly savedKeyTo: string | undefined;
}

export interface OpenViewOptions extends UnlockOptions {
  /** Parent of private temp folders (default: the system temp folder). */
  tempParent?: string;
}

/** The keybag of an encrypted backup, unlocked; undefined for a plain one. */
async function unlockFolder(folder: BackupFolder, options: OpenViewOptions): Promise<UnlockResult | undefined> {
  const keybag = folder.manifest?.backupKeyBag;
  if (folder.manifest?.isEncrypted !== true || keybag === undefined) return undefined;
  return unlockBackupKeybag(keybag, options);
}

/** Opens a backup folder for browsing (see the module comment). */
export async function openBackupView(dir: string, options: OpenViewOptions = {}): Promise<BackupView> {
  const folder = await readBackupFolder(dir);
  const unlocked = await unlockFolder(folder, options);
  const browser = await browseBackup(
    folder,
    unlocked?.keys,
    options.tempParent === undefined ? {} : { tempParent: options.tempParent },
  );
  return {
    ...browser,
    keySource: unlocked?.source ?? 'none',
    unlockMs: unlocked?.unlockMs ?? 0,
    savedKeyTo: unlocked?.savedTo,
  };
}
