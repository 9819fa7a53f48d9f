/**
 * Which versions of a phone's backup are kept, like Time Machine: every version of the last
 * `allFor` (24 h), the newest of each day for `dailyFor` (30 days) after that, the newest of each
 * week for `weeklyFor` (520 weeks) after that, and at most `max` (50) in all; pinned versions are
 * kept whatever the policy, and so is the newest complete backup. Days and weeks are UTC
 * calendar days and weeks starting on Monday, counted back from the newest version kept.
 *
 * The policy and the pins of a device live in `.ibackup/history/<UDID>/policy.json`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { writeSmallFile } from './small-file.js';
import { historyDir, parseVersionId } from './versions.js';

export interface RetentionPolicy {
  /** Seconds during which every version is kept. */
  allForSeconds: number;
  /** Seconds, after `allFor`, during which the newest version of each day is kept. */
  dailyForSeconds: number;
  /** Seconds, after those, during which the newest version of each week is kept. */
  weeklyForSeconds: number;
  /** The most versions kept (the current backup included); pinned ones count but are never dropped. */
  max: number;
}

const HOUR = 3600;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

export const DEFAULT_POLICY: RetentionPolicy = {
  allForSeconds: 24 * HOUR,
  dailyForSeconds: 30 * DAY,
  weeklyForSeconds: 520 * WEEK,
  max: 50,
};

/** What is saved per device. */
export interface HistorySettings {
  policy: RetentionPolicy;
  pinned: string[];
}

function settingsPath(root: string, udid: string): string {
  return join(historyDir(root, udid), 'policy.json');
}

function validPolicy(p: Partial<RetentionPolicy> | undefined): RetentionPolicy {
  const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : d);
  return {
    allForSeconds: num(p?.allForSeconds, DEFAULT_POLICY.allForSeconds),
    dailyForSeconds: num(p?.dailyForSeconds, DEFAULT_POLICY.dailyForSeconds),
    weeklyForSeconds: num(p?.weeklyForSeconds, DEFAULT_POLICY.weeklyForSeconds),
    max: Math.max(1, Math.floor(num(p?.max, DEFAULT_POLICY.max))),
  };
}

export async function readHistorySettings(root: string, udid: string): Promise<HistorySettings> {
  try {
    const raw = JSON.parse(await readFile(settingsPath(root, udid), 'utf8')) as Partial<{
      policy: Partial<RetentionPolicy>;
      pinned: unknown;
    }>;
    const pinned = Array.isArray(raw.pinned) ? raw.pinned.filter((x): x is string => typeof x === 'string') : [];
    return { policy: validPolicy(raw.policy), pinned };
  } catch {
    return { policy: { ...DEFAULT_POLICY }, pinned: [] };
  }
}

export async function writeHistorySettings(
  root: string,
  udid: string,
  settings: HistorySettings,
  fs: FsLayer = nodeFs,
): Promise<void> {
  await writeSmallFile(fs, settingsPath(root, udid), `${JSON.stringify(settings, null, 2)}\n`);
}

/** The UTC day number of a time (days since 1970-01-01). */
function dayOf(t: number): number {
  return Math.floor(t / (DAY * 1000));
}

/** The UTC week number of a time, weeks starting on Monday (1970-01-01 was a Thursday). */
function weekOf(t: number): number {
  return Math.floor((dayOf(t) + 3) / 7);
}

/**
 * The ids the policy keeps among `ids` (complete versions, any order) at time `now`. The newest
 * is always kept, and every pinned one.
 */
export function keptVersionIds(
  ids: readonly string[],
  now: Date,
  policy: RetentionPolicy,
  pinned: ReadonlySet<string> = new Set(),
): Set<string> {
  const dated = ids
    .map((id) => ({ id, t: parseVersionId(id)?.getTime() ?? 0 }))
    .sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : -1));
  const keep = new Set<string>();
  if (dated[0] !== undefined) keep.add(dated[0].id);
  const days = new Set<number>();
  const weeks = new Set<number>();
  const all = policy.allForSeconds * 1000;
  const daily = all + policy.dailyForSeconds * 1000;
  const weekly = daily + policy.weeklyForSeconds * 1000;
  for (const { id, t } of dated) {
    const age = now.getTime() - t;
    if (age <= all) keep.add(id);
    else if (age <= daily) {
      if (!days.has(dayOf(t))) keep.add(id);
    } else if (age <= weekly && !weeks.has(weekOf(t))) keep.add(id);
    // Newest first: the first version seen of a day or week is its newest.
    days.add(dayOf(t));
    weeks.add(weekOf(t));
  }
  return capped(dated, keep, policy.max, pinned);
}

/** At most `max`: the newest complete and the pinned ones first, then the newest of the rest. */
function capped(
  dated: readonly { id: string }[],
  keep: ReadonlySet<string>,
  max: number,
  pinned: ReadonlySet<string>,
): Set<string> {
  const out = new Set<string>();
  if (dated[0] !== undefined) out.add(dated[0].id);
  for (const d of dated) if (pinned.has(d.id)) out.add(d.id);
  for (const d of dated) {
    if (out.size >= max) break;
    if (keep.has(d.id)) out.add(d.id);
  }
  return out;
}
