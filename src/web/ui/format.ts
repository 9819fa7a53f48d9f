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

/** A localised date and time, or null when the text is not a date. */
export function formatDate(iso: string | null | undefined): string | null {
  if (iso === null || iso === undefined) return null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const KINDS = { current: 'Backup', archive: 'Archive', version: 'Last complete version' } as const;

/** "Backup", "Archive" or "Last complete version" (shown when the newest backup did not complete). */
export function kindLabel(kind: string): string {
  return (KINDS as Record<string, string>)[kind] ?? kind;
}
