/**
 * `watch` against three virtual iPhones plugged in and out on a seeded schedule, with the clock
 * moved by whole hours: each phone gets exactly the backups its once-a-day policy asks for (a
 * backup on connect when the last complete one is old enough, none when it is recent), never two
 * at once for one phone, none beyond --parallel; a phone pulled out mid-backup keeps its last
 * complete backup and is backed up when it comes back; every backup verifies.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAutoPolicy } from '../../src/app/auto.js';
import { findLastBackup } from '../../src/app/last-backup.js';
import { verifyBackupAt } from '../../src/app/verify.js';
import { Watcher, type WatchEvent } from '../../src/app/watch.js';
import { readStatusPlist } from '../../src/backup/status.js';
import { parseFault } from '../../src/emulator/faults.js';
import { pairedDevice, startBench, type Bench } from '../support/bench.js';
import { seededRandom } from '../support/random.js';
import { waitFor } from '../support/wait.js';

/** A small phone: a few dozen files, so that each backup takes a moment. */
const SMALL = { extends: 'tiny' as const, content: { files: 30, bytes: 256 * 1024 } };

const HOUR = 3_600_000;

interface Model {
  plugged: boolean;
  /** The test clock's offset when the phone's last complete backup was made. */
  lastOffset: number | null;
  completed: number;
}

/**
 * The watcher under test with a clock that runs `offset` ahead of real time. The virtual phones
 * date their backups by real time, so a backup's date is read on the test clock as it stood when
 * the backup was made.
 */
function startWatcher(b: Bench, configDir: string, clock: { offset: number }, events: WatchEvent[]) {
  const store = openAutoPolicy(configDir);
  const offsetAt = new Map<string, number>();
  const onTestClock = (d: Date): Date => new Date(d.getTime() + (offsetAt.get(d.toISOString()) ?? 0));
  const watcher = new Watcher({
    ctx: b.ctx,
    root: b.backupDir,
    policy: (udid) => store.get(udid),
    parallel: 2,
    now: () => new Date(Date.now() + clock.offset),
    lastBackup: async (udid) => {
      const last = await findLastBackup([b.backupDir], udid);
      return last === null ? null : onTestClock(last.date);
    },
    onEvent: (e) => {
      if (e.event === 'completed') offsetAt.set(e.date, clock.offset);
      events.push(e);
    },
    retryMs: 1000 * HOUR,
    tickMs: 3_600_000,
    progressEveryMs: 0,
  });
  const ac = new AbortController();
  const running = watcher.run(ac.signal);
  return { watcher, stop: async () => (ac.abort(), await running) };
}

/** No phone ever has two runs at once; never more than `parallel` runs. */
function assertNoOverlap(events: readonly WatchEvent[], parallel: number): void {
  const running = new Set<string>();
  for (const e of events) {
    if (e.event === 'started') {
      assert.ok(!running.has(e.udid), `${e.udid} started twice at once`);
      running.add(e.udid);
      assert.ok(running.size <= parallel, `${running.size} runs at once`);
    } else if (e.event === 'completed' || e.event === 'failed') running.delete(e.udid);
  }
}

/** After a run pulled out mid-backup: reported failed, and the last complete backup is whole and unchanged. */
async function assertLastCompleteKept(b: Bench, udid: string, events: readonly WatchEvent[]): Promise<void> {
  const last = events.filter((e) => (e.event === 'failed' || e.event === 'completed') && e.udid === udid).at(-1);
  assert.ok(
    last?.event === 'failed' && last.udid === udid,
    `the interrupted run is reported failed: ${JSON.stringify(last)}`,
  );
  const done = events.filter((e) => e.event === 'completed' && e.udid === udid).at(-1);
  // The last complete backup is the one made before (kept aside while the interrupted run wrote).
  const kept = await findLastBackup([b.backupDir], udid);
  assert.equal(kept?.date.toISOString(), done?.event === 'completed' ? done.date : '');
  const report = await verifyBackupAt(kept.path);
  assert.ok(report.ok, JSON.stringify(report.problems));
}

describe('ibackup watch', () => {
  test('3 phones on a seeded schedule: the backups the policy asks for, pulled out mid-run, re-plugged', async () => {
    const b = await startBench({ devices: 3, profile: SMALL });
    const configDir = await mkdtemp(join(tmpdir(), 'ibackup-watch-'));
    const events: WatchEvent[] = [];
    const clock = { offset: 0 };
    const udids = b.te.udids;
    await Promise.all(udids.map((u) => pairedDevice(b, u)));
    const model = new Map<string, Model>(udids.map((u) => [u, { plugged: true, lastOffset: null, completed: 0 }]));
    const w = startWatcher(b, configDir, clock, events);
    const count = (kind: string, udid: string): number =>
      events.filter((e) => e.event === kind && 'udid' in e && e.udid === udid).length;
    const idle = (): Promise<void> =>
      waitFor(
        () => w.watcher.snapshot().running.length === 0 && w.watcher.snapshot().queued.length === 0,
        30_000,
        'idle',
      );
    /** Plugs a phone back in and waits for watch's decision (queued or skipped). */
    const plug = async (udid: string): Promise<void> => {
      const from = events.length;
      await b.te.emu.attach({ udid });
      await waitFor(
        () => events.some((e, i) => i >= from && (e.event === 'queued' || e.event === 'skipped') && e.udid === udid),
        10_000,
        'a decision',
      );
    };
    const backedUp = (m: Model): void => {
      m.completed++;
      m.lastOffset = clock.offset;
    };
    const due = (m: Model): boolean => m.lastOffset === null || clock.offset - m.lastOffset >= 24 * HOUR;
    try {
      // All three connected at start: each is backed up once (two at a time).
      await waitFor(() => udids.every((u) => count('completed', u) === 1), 30_000, 'first backups');
      for (const m of model.values()) Object.assign(m, { lastOffset: 0, completed: 1 });
      const random = seededRandom(20261207);
      for (let step = 0; step < 12; step++) {
        const udid = udids[Math.floor(random() * udids.length)] as string;
        const m = model.get(udid) as Model;
        const roll = random();
        if (roll < 0.3) {
          // The clock moves on by 5 to 29 hours (never a whole day exactly), and watch looks again.
          clock.offset += (5 + Math.floor(random() * 25)) * HOUR - 60_000;
          await w.watcher.tick();
          for (const [, mm] of model) if (mm.plugged && due(mm)) backedUp(mm);
        } else if (m.plugged) {
          b.te.emu.detach(udid);
          m.plugged = false;
        } else if (roll < 0.7) {
          // Plugged in once a backup is due (the clock moves on when needed; phones still
          // plugged in are looked at on the next tick), and pulled out again once files flow.
          while (!due(m)) clock.offset += 7 * HOUR - 60_000;
          const before = events.length;
          const again = await b.te.emu.attach({ udid });
          // A slow link (2 Mbit/s), so that the pull lands while files flow.
          again.runtime?.faults.set(parseFault('throttle', { mbps: 2 }));
          await waitFor(
            () =>
              events.some(
                (e, i) =>
                  i >= before &&
                  e.event === 'progress' &&
                  e.udid === udid &&
                  e.phase === 'backing-up' &&
                  e.filesDone > 0,
              ) || count('completed', udid) > m.completed,
            30_000,
            'files flowing',
          );
          b.te.emu.detach(udid);
          await idle();
          if (count('completed', udid) > m.completed) backedUp(m);
          else await assertLastCompleteKept(b, udid, events);
        } else {
          await plug(udid);
          m.plugged = true;
          if (due(m)) backedUp(m);
        }
        await idle();
        for (const [u, mm] of model) assert.equal(count('completed', u), mm.completed, `${u} after step ${step}`);
      }
      // Every phone plugged back in: the ones whose backup is due get it, the others are skipped.
      for (const [u, m] of model) {
        if (m.plugged) continue;
        await plug(u);
        m.plugged = true;
        if (due(m)) backedUp(m);
      }
      await idle();
      for (const [u, m] of model) assert.equal(count('completed', u), m.completed, u);
      assert.ok(
        events.some((e) => e.event === 'skipped' && e.reason === 'recent'),
        'recent backups are skipped',
      );
      assert.ok(
        events.filter((e) => e.event === 'failed').length >= 1,
        `runs were pulled out mid-backup: ${events.filter((e) => e.event === 'failed').length}`,
      );
      assertNoOverlap(events, 2);
      for (const u of udids) {
        const dir = join(b.backupDir, u);
        const report = await verifyBackupAt(dir);
        assert.ok(report.ok, JSON.stringify(report.problems));
        const done = events.filter((e) => e.event === 'completed' && e.udid === u).at(-1);
        assert.equal((await readStatusPlist(dir)).date?.toISOString(), done?.event === 'completed' ? done.date : '');
      }
    } finally {
      await w.stop();
      await b.dispose();
      await rm(configDir, { recursive: true, force: true });
    }
  });
});
