/** The words Manage Backups uses about a phone's history: its policy, a version's facts. */
import type { RetentionPolicyView, VersionView } from '../api.js';
import { formatBytes } from './format.js';

const UNITS = [
  [604_800, 'week'],
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
] as const;

/** Seconds as the largest unit that counts whole and more than one: "24 hours", "30 days", "520 weeks". */
export function durationText(seconds: number): string {
  for (const [size, name] of UNITS) {
    const n = seconds / size;
    if (n >= 2 && Number.isInteger(n)) return `${n} ${name}s`;
  }
  if (seconds === 60) return '1 minute';
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}

/** The retention policy in one sentence. */
export function policySentence(p: RetentionPolicyView): string {
  return (
    `ibackup keeps every version for ${durationText(p.allForSeconds)}, ` +
    `the newest of each day for ${durationText(p.dailyForSeconds)}, ` +
    `and the newest of each week for ${durationText(p.weeklyForSeconds)} after that, ` +
    `at most ${p.max} versions; pinned versions and the current backup are always kept.`
  );
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** "12 versions · 4.1 GB". */
export function versionsSummary(count: number, bytes: number): string {
  return `${plural(count, 'version')} · ${formatBytes(bytes)}`;
}

/** "iOS 17.5 · Incremental · 600 files · 4 MB" of one version. */
export function versionFacts(v: VersionView): string {
  return [
    v.iosVersion === null ? null : `iOS ${v.iosVersion}`,
    v.full ? 'Full' : 'Incremental',
    plural(v.files, 'file'),
    formatBytes(v.sizeBytes),
  ]
    .filter((s) => s !== null)
    .join(' · ');
}

/** When a version completed, to the second (versions can be minutes apart): local date and time. */
export function versionDate(v: Pick<VersionView, 'date' | 'id'>): string {
  const d = new Date(v.date);
  if (Number.isNaN(d.getTime())) return v.id;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
