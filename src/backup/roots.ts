/**
 * Where backups live by default, per operating system, and how the backup root is chosen:
 * `--backup-dir`, then `IBACKUP_BACKUP_DIR`, then the folder chosen in the web app, then the OS default. Pure functions: the
 * environment, platform, home folder and an existence probe are injected (`folderExists` is the
 * real file system's; `createBackupRoot` makes the chosen root).
 *
 * - macOS: `~/Library/Application Support/MobileSync/Backup` (Finder and iTunes).
 * - Windows: `%APPDATA%\Apple Computer\MobileSync\Backup` (iTunes from Apple's installer), and
 *   `%USERPROFILE%\Apple\MobileSync\Backup` (iTunes / Apple Devices from the Microsoft Store)
 *   when that folder exists.
 * - Linux and others: `$XDG_DATA_HOME/ibackup/MobileSync/Backup`, `$XDG_DATA_HOME` defaulting to
 *   `~/.local/share` (no standard exists there; this is ibackup's choice).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/** Environment variables, as in `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface RootContext {
  env: Env;
  /** `process.platform`: 'darwin', 'win32', 'linux'… */
  platform: string;
  /** The user's home folder (`os.homedir()`). */
  home: string;
  /** Whether a folder exists; only used to find the Microsoft Store folder on Windows. */
  exists?: (dir: string) => boolean;
}

export type RootSource = 'option' | 'env' | 'setting' | 'default';

export interface ResolvedRoot {
  /** The backup root to use. */
  path: string;
  /** Where it came from. */
  source: RootSource;
  /**
   * Every default folder worth looking in, the chosen one first (on Windows both the iTunes and
   * the Microsoft Store folders when the latter exists); just `[path]` for an explicit root.
   */
  candidates: string[];
}

/** Whether something exists at `dir` on this computer: the real `RootContext.exists`. */
export function folderExists(dir: string): boolean {
  return existsSync(dir);
}

/** Creates a backup root (and its parents) when it is missing. */
export async function createBackupRoot(root: string): Promise<void> {
  await mkdir(root, { recursive: true });
}

/** The environment variable that overrides the default backup root. */
export const BACKUP_DIR_ENV = 'IBACKUP_BACKUP_DIR';

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** The `%APPDATA%` iTunes folder on Windows. */
export function windowsItunesRoot(env: Env, home: string): string {
  const appData = nonEmpty(env.APPDATA) ?? path.win32.join(home, 'AppData', 'Roaming');
  return path.win32.join(appData, 'Apple Computer', 'MobileSync', 'Backup');
}

/** The Microsoft Store folder on Windows. */
export function windowsStoreRoot(env: Env, home: string): string {
  const profile = nonEmpty(env.USERPROFILE) ?? home;
  return path.win32.join(profile, 'Apple', 'MobileSync', 'Backup');
}

/**
 * The default backup folders of this OS, the preferred one first. On Windows the Microsoft Store
 * folder is listed only when it exists, and comes first when the iTunes folder does not exist.
 */
export function defaultBackupRoots(ctx: RootContext): string[] {
  const { env, platform, home } = ctx;
  if (platform === 'darwin') {
    return [path.posix.join(home, 'Library', 'Application Support', 'MobileSync', 'Backup')];
  }
  if (platform === 'win32') {
    const itunes = windowsItunesRoot(env, home);
    const store = windowsStoreRoot(env, home);
    const exists = ctx.exists ?? (() => false);
    if (!exists(store)) return [itunes];
    return exists(itunes) ? [itunes, store] : [store, itunes];
  }
  const dataHome = nonEmpty(env.XDG_DATA_HOME);
  // The XDG spec says a relative $XDG_DATA_HOME is invalid and must be ignored.
  const base =
    dataHome !== undefined && path.posix.isAbsolute(dataHome) ? dataHome : path.posix.join(home, '.local', 'share');
  return [path.posix.join(base, 'ibackup', 'MobileSync', 'Backup')];
}

/** The default backup root of this OS (the first of `defaultBackupRoots`). */
export function defaultBackupRoot(ctx: RootContext): string {
  return defaultBackupRoots(ctx)[0] as string;
}

/**
 * `--backup-dir` (explicit), else `IBACKUP_BACKUP_DIR`, else the folder chosen in the web app
 * (ibackup's own settings file), else the OS default.
 */
export function resolveBackupRoot(
  ctx: RootContext & { explicit?: string | undefined; setting?: string | undefined },
): ResolvedRoot {
  const explicit = nonEmpty(ctx.explicit);
  if (explicit !== undefined) return { path: explicit, source: 'option', candidates: [explicit] };
  const fromEnv = nonEmpty(ctx.env[BACKUP_DIR_ENV]);
  if (fromEnv !== undefined) return { path: fromEnv, source: 'env', candidates: [fromEnv] };
  const setting = nonEmpty(ctx.setting);
  if (setting !== undefined) return { path: setting, source: 'setting', candidates: [setting] };
  const candidates = defaultBackupRoots(ctx);
  return { path: candidates[0] as string, source: 'default', candidates };
}
