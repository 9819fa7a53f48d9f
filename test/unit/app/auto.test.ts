/**
 * The automatic backup setting: periods parsed and printed, the store's defaults (on, once a
 * day), changes kept per phone whatever the UDID's spelling, a damaged file read as the defaults,
 * and when the next backup falls due.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEvery, nextDue, openAutoPolicy, parseEvery } from '../../../src/app/auto.js';
import { hasCode } from '../../../src/errors.js';

const UDID = '00008030-001A2B3C4D5E6F70';

describe('automatic backup setting', () => {
  test('periods: parsed with units (a bare number is hours), printed back', () => {
    const cases: [string, number][] = [
      ['24h', 86_400_000],
      ['12', 43_200_000],
      ['90min', 5_400_000],
      ['2d', 172_800_000],
      ['1w', 604_800_000],
      ['30s', 30_000],
      [' 1.5 h ', 5_400_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseEvery(text), ms, text);
    for (const bad of ['', 'soon', '-1h', '0', '0.5s', '1y', '1h30'])
      assert.throws(
        () => parseEvery(bad),
        (e) => hasCode(e, 'USAGE'),
        bad,
      );
    assert.deepEqual([86_400_000, 43_200_000, 5_400_000, 172_800_000, 604_800_000, 30_000].map(formatEvery), [
      '24h',
      '12h',
      '90min',
      '2d',
      '7d',
      '30s',
    ]);
  });

  test('the store: on once a day by default, per phone, any UDID spelling, written atomically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ibackup-auto-'));
    try {
      const store = openAutoPolicy(dir);
      assert.deepEqual(await store.get(UDID), { enabled: true, everyMs: 86_400_000 });
      await store.set(UDID.toLowerCase().replace('-', ''), { enabled: false });
      assert.deepEqual(await store.get(UDID), { enabled: false, everyMs: 86_400_000 });
      await store.set(UDID, { enabled: true, everyMs: 3_600_000 });
      assert.deepEqual(await store.get(UDID), { enabled: true, everyMs: 3_600_000 });
      assert.deepEqual(await store.get('00008030-0000000000000001'), { enabled: true, everyMs: 86_400_000 });
      assert.deepEqual(await readdir(dir), ['auto-backup.json'], 'no temporary file left');
      assert.deepEqual(JSON.parse(await readFile(store.path, 'utf8')).devices, {
        '00008030001A2B3C4D5E6F70': { enabled: true, everyMs: 3_600_000 },
      });
      await assert.rejects(store.set(UDID, { everyMs: -5 }));
      // A damaged file reads as the defaults; the next change replaces it.
      await writeFile(store.path, '{"devices": {"X": {"enabled": "yes"}');
      assert.deepEqual(await store.get(UDID), { enabled: true, everyMs: 86_400_000 });
      await store.set(UDID, { enabled: false });
      assert.equal((await store.get(UDID)).enabled, false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('next backup: at once without a backup or once the period has passed, else after it', () => {
    const day = { enabled: true, everyMs: 86_400_000 };
    const now = new Date('2026-12-07T12:00:00Z');
    assert.equal(nextDue(day, null, now), null);
    assert.equal(nextDue(day, new Date('2026-12-06T11:59:59Z'), now), null);
    assert.equal(nextDue(day, new Date('2026-12-06T12:00:00Z'), now), null);
    assert.deepEqual(nextDue(day, new Date('2026-12-07T09:00:00Z'), now), new Date('2026-12-08T09:00:00Z'));
  });
});
