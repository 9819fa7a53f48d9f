/**
 * Ctrl-C during a backup: the CLI hangs up (DLMessageDisconnect, as idevicebackup2 does; it posts
 * no cancel request to the phone), exits 1 with CANCELLED, the half-made backup lists as
 * incomplete, and the next backup completes and equals a fresh full one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { listAllBackups } from '../../src/app/list.js';
import { isIbackupError } from '../../src/errors.js';
import { SYNC_CANCEL } from '../../src/emulator/device-services.js';
import { waitFor } from '../support/wait.js';
import { json, startBench, type ErrorDoc, backupInto, pairedDevice } from '../support/bench.js';
import { assertFinished, assertSameBackups } from '../support/backup-checks.js';

/** Bytes the phone sends before it stalls, waiting to be cancelled. */
const STALL_AFTER_BYTES = 1024 * 1024;

describe('cancelling a backup', () => {
  test('SIGINT mid-upload: CANCELLED, the phone ends its run, list says incomplete, the next backup equals a fresh full one', async () => {
    const b = await startBench();
    try {
      const udid = b.te.udids[0] as string;
      const device = await pairedDevice(b, udid);
      const runtime = b.te.emu.find(udid).runtime;
      assert.ok(runtime);
      const posted: string[] = [];
      runtime.bus.on('post', (name: string) => posted.push(name));
      // The phone stalls mid-upload until the computer cancels the run (or 15 s pass).
      let sent = 0;
      const cancelled = (): boolean => runtime.runs.size === 0 || [...runtime.runs].every((r) => r.signal.aborted);
      runtime.onBytes = async (n) => {
        sent += n;
        if (sent < STALL_AFTER_BYTES) return;
        const until = Date.now() + 15_000;
        while (!cancelled() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      };

      const child = b.spawnCli(['--json', 'backup']);
      let stdout = '';
      let stderr = '';
      let filesDone = 0;
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        for (const line of stderr.split('\n').slice(0, -1)) {
          if (line.startsWith('{'))
            filesDone = Math.max(filesDone, (JSON.parse(line) as { filesDone?: number }).filesDone ?? 0);
        }
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await waitFor(() => filesDone >= 3, 30_000, 'the first files of the backup');
        assert.ok(child.kill('SIGINT'));
        const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
        assert.equal(code, 1, `exit ${String(code)}; stderr: ${stderr.slice(-800)}`);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      const err = json<ErrorDoc>(stdout).error;
      assert.equal(err.code, 'CANCELLED');
      assert.match(err.message, /last complete backup is unchanged/);
      assert.ok(!posted.includes(SYNC_CANCEL), `a host never posts a cancel request: ${posted.join(', ')}`);
      await waitFor(() => runtime.runs.size === 0, 10_000, 'the phone to end its backup run');

      // What `ibackup list` shows: the interrupted backup is not complete.
      const entry = (await listAllBackups([b.backupDir])).backups.find((x) => x.path === join(b.backupDir, udid));
      assert.ok(entry);
      assert.equal(entry.complete, false);

      // The next backup resumes into a complete one, the same as a fresh full backup.
      runtime.onBytes = () => undefined;
      const again = await b.cli(['--json', 'backup']);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.doesNotMatch(again.stdout + again.stderr, /not empty/i);
      const resumed = json<{ path: string; full: boolean }>(again.stdout);
      assert.equal(resumed.full, true);
      assert.equal(await assertFinished(resumed.path), true);
      const fresh = await backupInto(device, join(b.backupDir, 'fresh'), true);
      await assertSameBackups(resumed.path, fresh.path);
    } finally {
      await b.dispose();
    }
  });

  test('a phone that stalls mid-file and ignores the cancel does not hold the computer up', async () => {
    const b = await startBench();
    let release = (): void => undefined;
    try {
      const udid = b.te.udids[0] as string;
      const device = await pairedDevice(b, udid);
      const runtime = b.te.emu.find(udid).runtime;
      assert.ok(runtime);
      const stalled = new Promise<void>((r) => (release = r));
      const ac = new AbortController();
      let sent = 0;
      let cancelledAt = 0;
      runtime.onBytes = async (n) => {
        sent += n;
        if (sent < STALL_AFTER_BYTES) return;
        if (cancelledAt === 0) {
          cancelledAt = -1;
          // Cancel once the computer is surely inside the stalled file.
          setTimeout(() => {
            cancelledAt = Date.now();
            ac.abort();
          }, 300);
        }
        await stalled;
      };
      const outcome = backupDevice(device, { root: b.backupDir, signal: ac.signal }).then(
        () => assert.fail('the backup finished'),
        (e: unknown) => e,
      );
      const err = await Promise.race([
        outcome,
        new Promise((r) => setTimeout(() => r('still waiting after 10 s'), 10_000)),
      ]);
      assert.ok(isIbackupError(err) && err.code === 'CANCELLED', String(err));
      const waited = Date.now() - cancelledAt;
      assert.ok(waited < 5_000, `the cancel took ${waited} ms`);
    } finally {
      release();
      await b.dispose();
    }
  });
});
