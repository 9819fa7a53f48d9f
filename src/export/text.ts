/**
 * Small shared formatting of the exports: dates in local time, CSV fields (RFC 4180, with a
 * byte-order mark so spreadsheet programs read UTF-8), HTML escaping, and phone numbers compared
 * by their digits.
 */

/** Seconds since 2001-01-01 to a Date; values above 10^11 are nanoseconds (sms.db since iOS 11). */
export function cocoaDate(value: number | bigint | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  let n = typeof value === 'bigint' ? Number(value) : value;
  if (!Number.isFinite(n) || n === 0) return null;
  if (Math.abs(n) > 1e11) n = n / 1e9;
  return new Date((n + 978_307_200) * 1000);
}

const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');

/** ISO 8601 in local time with its offset ("2024-05-01T14:03:07+02:00"). */
export function localIso(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:` +
    `${pad(d.getSeconds())}${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`
  );
}

/** "2024-05-01 14:03" in local time. */
export function localShort(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export const CSV_BOM = '\ufeff';

export function csvField(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

/** The digits of a phone number, for matching "+33 6 12 34 56 78" with "+33612345678" or "0612345678". */
export function phoneKey(s: string): string | undefined {
  if (s.includes('@')) return s.trim().toLowerCase();
  const digits = s.replace(/\D/g, '');
  return digits.length < 6 ? undefined : digits.slice(-9);
}
