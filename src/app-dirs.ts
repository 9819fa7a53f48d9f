/**
 * Where ibackup keeps its own files (pair records usbmuxd cannot store, cached backup keys):
 * $XDG_CONFIG_HOME/ibackup on Linux, ~/Library/Application Support/ibackup on macOS,
 * %APPDATA%\ibackup on Windows. Pure: the environment is passed in.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface PlatformEnv {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

export function ibackupConfigDir(p: PlatformEnv = {}): string {
  const env = p.env ?? process.env;
  const platform = p.platform ?? process.platform;
  const home = p.home ?? homedir();
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'ibackup');
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'ibackup');
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg !== undefined && xdg !== '' ? xdg : join(home, '.config'), 'ibackup');
}

/** The system folders where usbmuxd / Apple's service keep pair records. */
export function systemLockdownDirs(p: PlatformEnv = {}): string[] {
  const env = p.env ?? process.env;
  const platform = p.platform ?? process.platform;
  if (platform === 'darwin') return ['/var/db/lockdown'];
  if (platform === 'win32') return [join(env.ProgramData ?? 'C:\\ProgramData', 'Apple', 'Lockdown')];
  return ['/var/lib/lockdown'];
}
