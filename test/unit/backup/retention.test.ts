/**
 * The retention policy (src/backup/retention.ts) on a simulated clock: a backup every six hours
 * for 400 days, pruned after each one; at every step the versions kept are exactly those the
 * policy names, computed here a second, independent way from every version ever made (calendar
 * dates from the ids' text, ISO weeks from Date arithmetic). Pinned versions survive; the newest
 * is never dropped.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, keptVersionIds, type RetentionPolicy } from '../../../src/backup/retention.js';
import { compareIdsNewestFirst, freeVersionId, parseVersionId, versionIdAt } from '../../../src/backup/versions.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The UTC calendar day of an id, from its text. */
const dayKey = (id: string): string => id.slice(0, 8);

const times = new Map<string, number>();
/** The time of an id (parsed once). */
function timeOf(id: string): number {
  let t = times.get(id);
  if (t === undefined) {
    t = (parseVersionId(id) as Date).getTime();
    times.set(id, t);
  }
  return t;
}

const weekKeys = new Map<string, string>();
/** The Monday (UTC) starting the week of an id. */
function weekKey(id: string): string {
  const known = weekKeys.get(id);
  if (known !== undefined) return known;
  const d = new Date(timeOf(id));
  const monday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
  const key = monday.toISOString().slice(0, 10);
  weekKeys.set(id, key);
  return key;
}

/** What the policy keeps of every version ever made, by its definition. */
function oracle(all: readonly string[], now: number, p: RetentionPolicy, pinned: ReadonlySet<string>): Set<string> {
  const newestFirst = [...all].reverse(); // made in time order
  const age = (id: string): number => now - timeOf(id);
  const newestOf = (key: (id: string) => string): Map<string, string> => {
    const m = new Map<string, string>();
    for (const id of newestFirst) if (!m.has(key(id))) m.set(key(id), id);
    return m;
  };
  const days = newestOf(dayKey);
  const weeks = newestOf(weekKey);
  const firstOf = (key: (id: string) => string, id: string): boolean =>
    (key === dayKey ? days : weeks).get(key(id)) === id;
  const wanted = newestFirst.filter((id, i) => {
    const a = age(id);
    if (i === 0 || a <= p.allForSeconds * 1000) return true;
    if (a <= (p.allForSeconds + p.dailyForSeconds) * 1000) return firstOf(dayKey, id);
    if (a <= (p.allForSeconds + p.dailyForSeconds + p.weeklyForSeconds) * 1000) return firstOf(weekKey, id);
    return false;
  });
  const out = new Set<string>([newestFirst[0] as string, ...newestFirst.filter((id) => pinned.has(id))]);
  for (const id of wanted) {
    if (out.size >= p.max) break;
    out.add(id);
  }
  return out;
}

function simulate(policy: RetentionPolicy, days: number, everyHours: number, pinAt?: number) {
  const start = Date.UTC(2025, 0, 1, 3, 0, 0);
  let held: string[] = [];
  const all: string[] = [];
  const pinned = new Set<string>();
  for (let t = start, step = 0; t < start + days * DAY; t += everyHours * HOUR, step++) {
    const id = freeVersionId(versionIdAt(new Date(t)), new Set(held));
    all.push(id);
    held.push(id);
    if (step === pinAt) pinned.add(id);
    const kept = keptVersionIds(held, new Date(t), policy, pinned);
    held = held.filter((x) => kept.has(x));
    const expected = oracle(all, t, policy, pinned);
    assert.deepEqual([...kept].sort(), [...expected].sort(), `step ${step} (${id})`);
  }
  return { held: held.sort(compareIdsNewestFirst), pinned, all };
}

describe('retention like Time Machine', () => {
  test('400 days, a backup every 6 hours, the default policy: exactly what the policy names at every step', () => {
    const { held, pinned } = simulate(DEFAULT_POLICY, 400, 6, 9);
    assert.equal(held.length, DEFAULT_POLICY.max, 'at most 50');
    for (const id of pinned) assert.ok(held.includes(id), `pinned ${id} survived 400 days`);
    // The last day holds every version (4), then one per day.
    const newest = parseVersionId(held[0] as string) as Date;
    assert.equal(held.filter((id) => newest.getTime() - (parseVersionId(id) as Date).getTime() <= DAY).length, 5);
  });

  test('without a cap: every version of the last day, one per day for 30 days, one per week after that', () => {
    const policy = { ...DEFAULT_POLICY, max: 100_000 };
    const { held } = simulate(policy, 400, 6);
    const newest = (parseVersionId(held[0] as string) as Date).getTime();
    const ages = held.map((id) => newest - (parseVersionId(id) as Date).getTime());
    const lastDay = ages.filter((a) => a <= DAY).length;
    const daily = ages.filter((a) => a > DAY && a <= 31 * DAY).length;
    const weekly = ages.filter((a) => a > 31 * DAY).length;
    assert.equal(lastDay, 5);
    assert.ok(daily >= 29 && daily <= 30, `daily ${daily}`);
    assert.ok(weekly >= 51 && weekly <= 53, `weekly ${weekly}`);
    const outside = held.filter((_, i) => (ages[i] as number) > DAY);
    assert.equal(new Set(outside.map(dayKey)).size, outside.length, 'at most one per day outside the last day');
  });

  test('a short policy drops what it no longer names; the newest is kept even past every window', () => {
    const policy: RetentionPolicy = { allForSeconds: 3600, dailyForSeconds: 2 * 86_400, weeklyForSeconds: 0, max: 10 };
    const { held } = simulate(policy, 20, 5);
    assert.ok(held.length <= 4, held.join(', '));
    const lonely = keptVersionIds(['20200101-000000'], new Date(Date.UTC(2026, 0, 1)), policy);
    assert.deepEqual([...lonely], ['20200101-000000']);
  });

  test('ids: UTC time, a -N suffix for a second backup in the same second, newest first', () => {
    const at = new Date(Date.UTC(2026, 11, 7, 9, 5, 3));
    assert.equal(versionIdAt(at), '20261207-090503');
    assert.equal(freeVersionId('20261207-090503', new Set(['20261207-090503'])), '20261207-090503-2');
    assert.equal(
      freeVersionId('20261207-090503', new Set(['20261207-090503', '20261207-090503-2'])),
      '20261207-090503-3',
    );
    assert.deepEqual(
      ['20261207-090503', '20261207-090503-2', '20261208-000000', '20261207-090503-10'].sort(compareIdsNewestFirst),
      ['20261208-000000', '20261207-090503-10', '20261207-090503-2', '20261207-090503'],
    );
    assert.equal(parseVersionId('20261307-090503'), undefined);
    assert.equal(parseVersionId('20261207-090503-1'), undefined);
    assert.equal(parseVersionId('../20261207-090503'), undefined);
  });
});
