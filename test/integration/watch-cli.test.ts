/**
 * `ibackup watch`, `auto` and `backup --all` from the command line against three virtual iPhones:
 * two watch processes at once back each phone up exactly once between them (the per-phone lock:
 * never two runs on one phone, as the phones themselves see it), a phone whose automatic backup
 * is off is left alone, a phone plugged back in with a recent backup is skipped, SIGTERM ends
 * watch cleanly, and `backup --all` backs up every trusted phone at once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openAutoPolicy } from '../../src/app/auto.js';
import { verifyBackupAt } from '../../src/app/verify.js';
import { json, pairedDevice, startBench, type Bench } from '../support/bench.js';
import { waitFor } from '../support/wait.js';

/** A small phone: a few dozen files, so that each backup takes a moment. */
const SMALL = { extends: 'tiny' as const, content: { files: 30, bytes: 256 * 1024 } };

interface Line {
  event: string;
  udid?: string;
  reason?: string;
  time: string;
}

/** A running `watch --json`: its NDJSON lines as they come. */
function watch(b: Bench): { child: ChildProcess; lines: Line[]; exit: Promise<number | null> } {
  const child = b.spawnCli(['--json', 'watch', '--parallel', '2', '--no-notify']);
  const lines: Line[] = [];
  let rest = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    rest += chunk;
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p !== '') lines.push(json<Line>(p));
  });
  child.stderr?.resume();
  const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, lines, exit };
}

/** The most mobilebackup2 runs each phone had at once, sampled while `until` is false. */
async function sampleRuns(b: Bench, until: () => boolean): Promise<Map<string, number>> {
  const most = new Map<string, number>();
  while (!until()) {
    for (const d of b.te.emu.devices()) most.set(d.udid, Math.max(most.get(d.udid) ?? 0, d.runtime?.runs.size ?? 0));
    await new Promise((r) => setTimeout(r, 5));
  }
  return most;
}

describe('ibackup watch / auto / backup --all (CLI)', () => {
  test('two watch processes, one backup per phone; auto off is left alone; backup --all', async () => {
    const b = await startBench({ devices: 3, profile: SMALL });
    const [u0, u1, u2] = b.te.udids as [string, string, string];
    const watchers: ReturnType<typeof watch>[] = [];
    try {
      await Promise.all([u0, u1, u2].map((u) => pairedDevice(b, u)));
      // The third phone's automatic backup is off before any watch starts; the commands run while
      // the two watch processes start.
      await openAutoPolicy(join(b.configHome, 'ibackup')).set(u2, { enabled: false });
      watchers.push(watch(b), watch(b));
      const [status, off] = await Promise.all([
        b.cli(['--json', '-u', u2, 'auto', 'status']),
        b.cli(['--json', '-u', u2, 'auto', 'off']),
      ]);
      assert.equal(status.code, 0, status.stderr);
      const auto = json<Record<string, unknown>>(status.stdout);
      assert.equal(typeof auto.watching, 'boolean');
      delete auto.watching;
      assert.deepEqual(auto, {
        udid: u2,
        auto: false,
        everyMs: 86_400_000,
        every: '24h',
        lastBackup: null,
        nextBackupAfter: null,
      });
      assert.deepEqual(
        [json<{ auto: boolean }>(off.stdout).auto, json<{ every: string }>(off.stdout).every],
        [false, '24h'],
      );
      const all = (): Line[] => watchers.flatMap((w) => w.lines);
      const completed = (u: string): number => all().filter((l) => l.event === 'completed' && l.udid === u).length;
      const settled = (): boolean =>
        completed(u0) === 1 &&
        completed(u1) === 1 &&
        watchers.every((w) => w.lines.some((l) => l.event === 'skipped' && l.udid === u2 && l.reason === 'auto-off'));
      const deadline = Date.now() + 40_000;
      const most = await sampleRuns(b, () => settled() || Date.now() > deadline);
      await waitFor(settled, 1000, 'one backup of each phone whose auto is on');
      for (const u of [u0, u1]) assert.equal(most.get(u), 1, `${u}: one mobilebackup2 run at a time`);
      assert.equal(most.get(u2) ?? 0, 0);
      // The other process found the phone busy or its backup recent; neither ran it twice.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(completed(u0) + completed(u1), 2);
      assert.equal(
        all().filter((l) => l.event === 'started').length,
        2 + all().filter((l) => l.event === 'failed').length,
      );

      // Plugged back in the same day: skipped as recent by both.
      const before = watchers.map((w) => w.lines.length);
      b.te.emu.detach(u0);
      await b.te.emu.attach({ udid: u0 });
      await waitFor(
        () =>
          watchers.every((w, i) =>
            w.lines.slice(before[i]).some((l) => l.event === 'skipped' && l.udid === u0 && l.reason === 'recent'),
          ),
        10_000,
        'recent backup skipped',
      );
      assert.ok(existsSync(join(b.configHome, 'ibackup', 'watch-status.json')));
      for (const w of watchers) w.child.kill('SIGTERM');
      assert.deepEqual(await Promise.all(watchers.map((w) => w.exit)), [0, 0]);
      assert.ok(!existsSync(join(b.configHome, 'ibackup', 'watch-status.json')), 'the status file goes with watch');

      const r = await b.cli(['--json', 'backup', '--all', '--parallel', '3'], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      const doc = json<{ results: { udid: string; ok: boolean; path?: string }[] }>(r.stdout);
      assert.deepEqual(doc.results.map((x) => [x.udid, x.ok]).sort(), [u0, u1, u2].map((u) => [u, true]).sort());
      for (const x of doc.results) assert.ok((await verifyBackupAt(x.path as string)).ok, x.udid);
    } finally {
      for (const w of watchers) w.child.kill('SIGKILL');
      await b.dispose();
    }
  });
});
