/**
 * `ibackup history [DEVICE]` (the versions of a phone's backup), `history policy|pin|unpin` (its
 * retention) and `ibackup diff V1 V2 [DEVICE]` (what changed between two versions).
 */
import type { Command } from 'commander';
import { diffVersions, pinVersion, setRetentionPolicy, showHistory, versionsShareAPassword } from '../app/history.js';
import type { DiffResult, HistoryResult, HistoryVersion, RetentionPolicy } from '../app/history.js';
import { KeyCache } from '../app/password.js';
import { formatBytes } from '../app/format-bytes.js';
import { IbackupError } from '../errors.js';
import { backupDirOf } from './backup-choice.js';
import { globalsOf } from './globals.js';
import { printJson } from './output.js';
import { addPasswordOption, passwordSource, readPasswords } from './passwords.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "24h", "30d", "520w", "90m", "0" → seconds; a usage error otherwise. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d{1,7})([smhdw]?)$/.exec(text.trim());
  if (m === null) {
    throw new IbackupError('USAGE', {
      message: `${flag} takes a duration like 24h, 30d or 520w, not "${text}".`,
      remedy: 'Use a whole number followed by s, m, h, d or w (seconds, minutes, hours, days, weeks).',
    });
  }
  return Number(m[1]) * (UNIT_SECONDS[m[2] || 's'] as number);
}

/** Seconds as the largest whole unit: "24 hours", "30 days", "520 weeks". */
export function durationText(seconds: number): string {
  for (const [unit, name] of [
    ['w', 'week'],
    ['d', 'day'],
    ['h', 'hour'],
    ['m', 'minute'],
  ] as const) {
    const n = seconds / (UNIT_SECONDS[unit] as number);
    if (seconds > 0 && Number.isInteger(n)) return `${n} ${name}${n === 1 ? '' : 's'}`;
  }
  return `${seconds} seconds`;
}

export function policyText(p: RetentionPolicy): string {
  return (
    `every version for ${durationText(p.allForSeconds)}, the newest of each day for ${durationText(p.dailyForSeconds)}, ` +
    `the newest of each week for ${durationText(p.weeklyForSeconds)} after that; at most ${p.max} versions`
  );
}

function localDate(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function notes(v: HistoryVersion): string {
  return [
    v.current ? 'current (Finder/iTunes see this one)' : '',
    v.pinned ? 'pinned' : '',
    v.earlierPassword === true ? 'earlier backup password' : '',
  ]
    .filter((s) => s !== '')
    .join(', ');
}

export function historyText(h: HistoryResult): string {
  const name = h.deviceName === null ? h.device : `${h.deviceName} (${h.device})`;
  if (h.versions.length === 0) return `No complete backup of ${name} yet.`;
  const rows = h.versions.map((v) => [
    v.id,
    localDate(v.date),
    v.iosVersion ?? '?',
    v.full ? 'full' : 'incremental',
    v.encrypted ? 'yes' : 'no',
    String(v.files),
    formatBytes(v.sizeBytes),
    formatBytes(v.uniqueBytes),
    notes(v),
  ]);
  const head = ['Version', 'Completed', 'iOS', 'Kind', 'Encrypted', 'Files', 'Size', 'Only here', ''];
  const widths = head.map((x, i) => Math.max(x.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const count = `${h.versions.length} version${h.versions.length === 1 ? '' : 's'}`;
  return [
    `History of ${name}: ${count}, ${formatBytes(h.totalBytes)} on disk (${formatBytes(h.sharedBytes)} shared between versions)`,
    '',
    line(head),
    ...rows.map(line),
    '',
    `"Only here" is the space deleting that version frees. Kept: ${policyText(h.policy)}.`,
    ...(h.unfinished === null
      ? []
      : [
          `The last backup did not complete: its folder ${h.unfinished} is not a version (${formatBytes(h.unfinishedBytes)} of its own, counted in the total); the next backup completes it.`,
        ]),
  ].join('\n');
}

export function diffText(d: DiffResult): string {
  const lines = [`Changes from ${d.from} to ${d.to}:`];
  const show = (mark: string, list: DiffResult['added']): void => {
    for (const e of list.slice(0, 200)) lines.push(`${mark} ${e.domain}/${e.relativePath} (${formatBytes(e.size)})`);
    if (list.length > 200) lines.push(`  … and ${list.length - 200} more (--json lists them)`);
  };
  show('+', d.added);
  show('~', d.changed);
  show('-', d.removed);
  lines.push(`${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed.`);
  return lines.join('\n');
}

interface PolicyFlags {
  allFor?: string;
  dailyFor?: string;
  weeklyFor?: string;
  max?: string;
}

function policyChanges(f: PolicyFlags): Partial<RetentionPolicy> {
  const out: Partial<RetentionPolicy> = {};
  if (f.allFor !== undefined) out.allForSeconds = parseDuration(f.allFor, '--all-for');
  if (f.dailyFor !== undefined) out.dailyForSeconds = parseDuration(f.dailyFor, '--daily-for');
  if (f.weeklyFor !== undefined) out.weeklyForSeconds = parseDuration(f.weeklyFor, '--weekly-for');
  if (f.max !== undefined) {
    const n = Number(f.max);
    if (!Number.isInteger(n) || n < 1 || n > 100_000)
      throw new IbackupError('USAGE', {
        message: `--max takes a whole number of versions (1 or more), not "${f.max}".`,
      });
    out.max = n;
  }
  return out;
}

function registerPolicy(history: Command): void {
  history
    .command('policy [device]')
    .description('show or change which versions are kept (like Time Machine); changes apply at once')
    .option('--all-for <duration>', 'keep every version this long (default 24h)')
    .option('--daily-for <duration>', 'then the newest of each day this long (default 30d)')
    .option('--weekly-for <duration>', 'then the newest of each week this long (default 520w)')
    .option('--max <n>', 'at most this many versions (default 50); pinned ones are always kept')
    .action(async (device: string | undefined, flags: PolicyFlags, cmd: Command) => {
      const g = globalsOf(cmd);
      const r = await setRetentionPolicy(await backupDirOf(g, device), policyChanges(flags));
      if (g.json) return printJson(r);
      process.stdout.write(`Kept for ${r.device}: ${policyText(r.policy)}.\n`);
      if (r.pinned.length > 0) process.stdout.write(`Pinned: ${r.pinned.join(', ')}\n`);
      if (r.removed.length > 0) process.stdout.write(`Removed by the new policy: ${r.removed.join(', ')}\n`);
    });
  for (const pin of [true, false]) {
    history
      .command(`${pin ? 'pin' : 'unpin'} <version> [device]`)
      .description(pin ? 'keep a version whatever the policy' : 'let the policy decide about a version again')
      .action(async (version: string, device: string | undefined, _o: unknown, cmd: Command) => {
        const g = globalsOf(cmd);
        const r = await pinVersion(await backupDirOf(g, device), version, pin);
        if (g.json) return printJson(r);
        process.stdout.write(`${pin ? 'Pinned' : 'Unpinned'} ${r.id} of ${r.device}.\n`);
      });
  }
}

interface DiffFlags {
  passwordStdin?: boolean;
  saveKey?: boolean;
}

/**
 * The diff, each side opened with its password: versions on either side of a password change
 * take the second one for V2 (line 2 of --password-stdin, IBACKUP_NEW_PASSWORD, or a second prompt).
 */
async function diffWithPasswords(folder: string, v1: string, v2: string, flags: DiffFlags): Promise<DiffResult> {
  const common = { keyCache: new KeyCache(), saveKey: flags.saveKey === true };
  if (await versionsShareAPassword(folder, v1, v2)) {
    return diffVersions(folder, v1, v2, { ...common, password: passwordSource(flags) });
  }
  const both = readPasswords(flags, { needNew: true, confirm: false });
  both.catch(() => undefined); // awaited below; a failure is reported there
  return diffVersions(
    folder,
    v1,
    v2,
    { ...common, password: async () => (await both).password },
    { ...common, password: async () => (await both).newPassword ?? '' },
  );
}

export function registerHistory(program: Command): void {
  const history = program
    .command('history')
    .description("the versions of a phone's backup kept on this computer, and the space each holds alone")
    .argument('[device]', 'a UDID, a device name or a backup folder (default: the connected iPhone)')
    .action(async (device: string | undefined, _o: unknown, cmd: Command) => {
      const g = globalsOf(cmd);
      const h = await showHistory(await backupDirOf(g, device));
      if (g.json) printJson(h);
      else process.stdout.write(`${historyText(h)}\n`);
    });
  registerPolicy(history);
  addPasswordOption(
    program
      .command('diff <v1> <v2> [device]')
      .description('files added, changed and removed between two versions (ids, latest, previous, latest~N)'),
  )
    .option('--save-key', 'keep the key derived from the password so later commands need no password')
    .action(async (v1: string, v2: string, device: string | undefined, flags: DiffFlags, cmd: Command) => {
      const g = globalsOf(cmd);
      const d = await diffWithPasswords(await backupDirOf(g, device), v1, v2, flags);
      if (g.json) printJson(d);
      else process.stdout.write(`${diffText(d)}\n`);
    });
}
