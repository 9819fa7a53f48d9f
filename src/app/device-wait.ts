/**
 * How long a request may leave the iPhone silent: the Backup, Restore and ChangePassword requests
 * wait while the owner types the passcode and while the phone prepares (minutes on a large phone).
 * `--wait` overrides the default. IBACKUP_TIME_SCALE (a positive number, for tests and demos of a
 * virtual iPhone that compresses its own delays by the same factor) scales the default.
 */
import { IbackupError } from '../errors.js';
import { DEFAULT_DEVICE_WAIT_MS } from '../host/services/mobilebackup2.js';

/** The bound on the device's silence: the one asked for, else the scaled default. */
export function deviceWaitMs(explicit?: number): number {
  if (explicit !== undefined) return explicit;
  return Math.max(1, Math.round(DEFAULT_DEVICE_WAIT_MS * timeScale()));
}

/** The time scale of the environment (1 unless IBACKUP_TIME_SCALE holds a positive number). */
export function timeScale(): number {
  const raw = process.env.IBACKUP_TIME_SCALE;
  const n = raw === undefined || raw === '' ? 1 : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** "90s", "45 min", "2h", "1.5h" → milliseconds; a bare number is minutes. */
export function parseWait(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$/i.exec(text);
  const value = m ? Number(m[1]) : NaN;
  const unit = m?.[2]?.toLowerCase() ?? 'min';
  const ms = Math.round(value * (UNITS[unit] ?? NaN));
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new IbackupError('USAGE', { message: `"${text}" is not a wait: give a duration such as 90s, 45min or 2h.` });
  }
  return ms;
}
