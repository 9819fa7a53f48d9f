/** Sizes, speeds, durations and dates the way the page shows them (the browser's locale). */
import { scaleBytes } from '../../app/format-bytes.js';

/** Decimal units, as Finder shows sizes: 1.2 MB, 64 GB (the digits in the browser's locale). */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return '—';
  if (n < 1000) return `${Math.round(n)} ${n === 1 ? 'byte' : 'bytes'}`;
  const { value, unit, digits } = scaleBytes(n);
  return `${value.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 })} ${unit}`;
}

export function formatSpeed(bytesPerSecond: number | null): string | null {
  if (bytesPerSecond === null || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return null;
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "About 12 s left", "About 3 min left", "About 1 h 5 min left". */
export function formatEta(seconds: number | null): string | null {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return null;
  const s = Math.round(seconds);
  if (s < 60) return `About ${Math.max(s, 1)} s left`;
  const m = Math.round(s / 60);
  if (m < 60) return `About ${m} min left`;
  return `About ${Math.floor(m / 60)} h ${m % 60} min left`;
}

/** Whole calendar days from `d` to `now`, in the browser's time zone (0 = today). */
function daysAgo(d: Date, now: Date): number {
  const start = (x: Date): number => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  return Math.round((start(now) - start(d)) / 86_400_000);
}

/**
 * A date as Finder shows it: "Today, 4:11 AM", "Yesterday, 9:02 PM", else "12 Mar 2026, 4:11 AM"
 * (the browser's locale); `seconds` adds them (rows of one phone made minutes apart). Null when
 * the text is not a date.
 */
export function formatDate(
  iso: string | null | undefined,
  opts: { seconds?: boolean; now?: Date } = {},
): string | null {
  if (iso === null || iso === undefined) return null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  const timeStyle = opts.seconds === true ? 'medium' : 'short';
  const time = d.toLocaleTimeString(undefined, { timeStyle });
  const days = daysAgo(d, opts.now ?? new Date());
  if (days === 0) return `Today, ${time}`;
  if (days === 1) return `Yesterday, ${time}`;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle });
}

const KINDS = { current: 'Backup', archive: 'Archive', version: 'Backup' } as const;

/** "Backup" or "Archive" (a phone's row showing its last complete version is its backup). */
export function kindLabel(kind: string): string {
  return (KINDS as Record<string, string>)[kind] ?? kind;
}
