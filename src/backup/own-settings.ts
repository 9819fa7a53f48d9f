/**
 * ibackup's own settings: `<ibackup's folder>/settings.json`, today `{ "backupDir": "/abs/path" }`
 * (the backup folder chosen in the web app). Read synchronously where the backup root is resolved
 * (a small file, read once per command); written under a temporary name, then renamed.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { writeAtomic } from './auto-policy.js';

export const SETTINGS_FILE = 'settings.json';

export interface OwnSettings {
  /** The backup folder chosen in the web app (an absolute path). */
  backupDir?: string;
}

export function settingsPath(configDir: string): string {
  return join(configDir, SETTINGS_FILE);
}

/** The settings, or none when the file is missing or unreadable (a damaged file is ignored, not fatal). */
export function readOwnSettings(configDir: string): OwnSettings {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(settingsPath(configDir), 'utf8'));
  } catch {
    return {};
  }
  if (typeof v !== 'object' || v === null) return {};
  const dir = (v as { backupDir?: unknown }).backupDir;
  return typeof dir === 'string' && isAbsolute(dir) ? { backupDir: dir } : {};
}

/** Saves `patch` over the current settings. */
export async function writeOwnSettings(configDir: string, patch: OwnSettings): Promise<void> {
  const next = { ...readOwnSettings(configDir), ...patch };
  await writeAtomic(settingsPath(configDir), `${JSON.stringify(next, null, 2)}\n`);
}
