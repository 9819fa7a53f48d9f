/**
 * Choosing the backup a command works on: BACKUP as given (a folder, a UDID or a device name under
 * the backup folder), else the chosen device's backup, else the only one there is.
 */
import { defaultBackup, resolveBackupArg } from '../app/open-backup.js';
import { backupRootsOf, hostContextOf, type GlobalOptions } from './globals.js';

/**
 * The backup a command works on: BACKUP, else the device's, else the only one; with `at`
 * (`--at V`), that version of its history.
 */
export async function backupDirOf(
  g: GlobalOptions,
  arg: string | undefined,
  signal?: AbortSignal,
  at?: string,
): Promise<string> {
  const roots = backupRootsOf(g);
  if (arg !== undefined) return resolveBackupArg(arg, roots, at);
  return defaultBackup(roots, {
    host: hostContextOf(g),
    ...(g.udid === undefined ? {} : { wanted: g.udid }),
    ...(signal === undefined ? {} : { signal }),
    ...(at === undefined ? {} : { at }),
  });
}

/** The `--at V` option (not --version: that is the program's own flag). */
export const AT_OPTION = [
  '--at <version>',
  'a version of the backup history: its id (YYYYMMDD-HHMMSS, see "ibackup history"), latest, previous or latest~N',
] as const;
