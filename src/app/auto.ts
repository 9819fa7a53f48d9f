/**
 * `ibackup auto on|off|status [--every 24h]`: whether `watch` backs a phone up when it connects,
 * and how old its last complete backup may be before it does (on, once a day, unless changed: as
 * iTunes syncs on connect). The setting lives in ibackup's own folder (backup/auto-policy.ts).
 */
import { AutoPolicyStore, DEFAULT_EVERY_MS, type AutoSetting } from '../backup/auto-policy.js';
import { IbackupError } from '../errors.js';
import { ibackupConfigDir } from '../app-dirs.js';
import { findLastBackup } from './last-backup.js';

export { DEFAULT_EVERY_MS, type AutoSetting } from '../backup/auto-policy.js';
export type { AutoPolicyStore } from '../backup/auto-policy.js';

/** The store in ibackup's own folder (or `dir`). */
export function openAutoPolicy(dir: string = ibackupConfigDir()): AutoPolicyStore {
  return new AutoPolicyStore(dir);
}

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** "24h", "12 h", "2d", "1w", "90min", "30s" → milliseconds (a bare number is hours). */
export function parseEvery(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)?\s*$/i.exec(text);
  const ms = m ? Math.round(Number(m[1]) * (UNITS[(m[2] ?? 'h').toLowerCase()] ?? NaN)) : NaN;
  if (!Number.isFinite(ms) || ms < 1000) {
    throw new IbackupError('USAGE', {
      message: `"${text}" is not a period: give one such as 24h, 12h, 2d or 1w.`,
      remedy: 'For example: ibackup auto on --every 24h',
    });
  }
  return ms;
}

/** 86400000 → "24h", 5400000 → "90min", 604800000 → "7d". */
export function formatEvery(ms: number): string {
  if (ms % 3_600_000 === 0)
    return ms % 86_400_000 === 0 && ms > 86_400_000 ? `${ms / 86_400_000}d` : `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}min`;
  return `${Math.round(ms / 1000)}s`;
}

export interface AutoStatus {
  udid: string;
  /** Back up automatically when this iPhone is connected. */
  auto: boolean;
  everyMs: number;
  every: string;
  /** The last complete backup on this computer (ISO), or null. */
  lastBackup: string | null;
  /**
   * From when a connection starts a backup (ISO): the last backup's date plus the period; null
   * when the next connection does (no backup yet, or already due), or when auto is off.
   */
  nextBackupAfter: string | null;
}

/** When the next automatic backup is due: null = at once (on the next connection). */
export function nextDue(setting: AutoSetting, last: Date | null, now: Date): Date | null {
  if (last === null) return null;
  const due = new Date(last.getTime() + setting.everyMs);
  return due.getTime() <= now.getTime() ? null : due;
}

export async function autoStatus(
  store: AutoPolicyStore,
  roots: readonly string[],
  udid: string,
  now: Date = new Date(),
): Promise<AutoStatus> {
  const setting = await store.get(udid);
  const last = await findLastBackup(roots, udid);
  const due = setting.enabled ? nextDue(setting, last?.date ?? null, now) : null;
  return {
    udid,
    auto: setting.enabled,
    everyMs: setting.everyMs,
    every: formatEvery(setting.everyMs),
    lastBackup: last === null ? null : last.date.toISOString(),
    nextBackupAfter: due === null ? null : due.toISOString(),
  };
}

/** Turns automatic backups on or off for a phone (and sets the period when given). */
export async function setAuto(
  store: AutoPolicyStore,
  roots: readonly string[],
  udid: string,
  enabled: boolean,
  everyMs?: number,
): Promise<AutoStatus> {
  await store.set(udid, { enabled, ...(everyMs === undefined ? {} : { everyMs }) });
  return autoStatus(store, roots, udid);
}

export const DEFAULT_EVERY = formatEvery(DEFAULT_EVERY_MS);
