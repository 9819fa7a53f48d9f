/**
 * The host against what real iPhones do (docs/devices.md): it waits through the passcode prompt
 * and the silent preparation (well past the old 5-minute bound, in compressed time), says what is
 * going on, gives up only at its own bound with a message naming `--wait`, reports a cancel made
 * on the phone as such, and explains an iOS 15 phone's stuck snapshot (error 3) until a restart.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { json, startBench, type ErrorDoc, pairedDevice } from '../support/bench.js';
import { waitFor } from '../support/wait.js';

/** The emulator's test time scale is 0.001: the host's default wait (60 min) becomes 3.6 s. */
const HOST_SCALE = { IBACKUP_TIME_SCALE: '0.001' };

interface Progress {
  event: string;
  phase?: string;
  message?: string;
}

function events(stderr: string): Progress[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Progress);
}

describe('real iPhones: silences, cancels, stuck snapshots', () => {
  test('an iOS 17 phone silent for 2 000 modelled seconds after the passcode: the host waits (the old bound was 300 s) and says why', async () => {
    const b = await startBench({
      profile: {
        extends: 'tiny',
        identity: { productVersion: '17.5.1' },
        behaviour: { passcode: { mode: 'after', seconds: 100 }, preparationSeconds: 2000 },
      },
    });
    try {
      const udid = b.te.udids[0] as string;
      await pairedDevice(b, udid);
      const r = await b.cli(['backup'], { env: HOST_SCALE, timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stderr, /Enter your passcode on the iPhone to allow the backup/);
      assert.match(
        r.stderr,
        /The iPhone is preparing the backup — this can take several minutes on a phone with many files/,
      );
      const j = await b.cli(['--json', 'backup'], { env: HOST_SCALE, timeoutMs: 60_000 });
      assert.equal(j.code, 0, j.stderr);
      const phases = events(j.stderr)
        .map((e) => e.phase)
        .filter((p) => p !== undefined);
      // The prompt, then the silent preparation, then files, in that order (a subsequence of the events).
      let at = 0;
      for (const want of ['waiting-for-passcode', 'device-preparing', 'backing-up', 'finishing']) {
        at = phases.indexOf(want, at);
        assert.ok(at >= 0, `${want} after the phases before it: ${phases.join(' ')}`);
      }
    } finally {
      await b.dispose();
    }
  });

  test('past the bound the host gives up, naming the wait and --wait; --wait gives the phone longer', async () => {
    const b = await startBench({
      profile: { extends: 'tiny', identity: { productVersion: '18.1' }, behaviour: { preparationSeconds: 5000 } },
    });
    try {
      const udid = b.te.udids[0] as string;
      await pairedDevice(b, udid);
      const started = Date.now();
      const r = await b.cli(['--json', 'backup'], { env: HOST_SCALE, timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const err = json<ErrorDoc>(r.stdout).error;
      assert.equal(err.code, 'TIMEOUT');
      assert.match(err.message, /The iPhone sent nothing for .*, the longest this backup waits/);
      assert.match(err.remedy, /--wait 2h/);
      assert.ok(Date.now() - started < 30_000);
      const longer = await b.cli(['backup', '--wait', '8s'], { env: HOST_SCALE, timeoutMs: 60_000 });
      assert.equal(longer.code, 0, longer.stdout + longer.stderr);
    } finally {
      await b.dispose();
    }
  });

  test('a cancel tapped on the iPhone ends the run at once, in its own words', async () => {
    const b = await startBench({ profile: { extends: 'tiny', behaviour: { preparationSeconds: 20_000 } } });
    try {
      const udid = b.te.udids[0] as string;
      await pairedDevice(b, udid);
      const runtime = b.te.emu.find(udid).runtime;
      assert.ok(runtime);
      const child = b.spawnCli(['--json', 'backup']);
      let stdout = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await waitFor(() => runtime.runs.size > 0, 20_000, 'the backup to start on the phone');
      const at = Date.now();
      runtime.cancelOnPhone();
      assert.equal(await exited, 1);
      assert.ok(Date.now() - at < 10_000, 'ended at once');
      const err = json<ErrorDoc>(stdout).error;
      assert.equal(err.code, 'CANCELLED');
      assert.match(err.message, /cancelled on the iPhone/);
    } finally {
      await b.dispose();
    }
  });

  test('iOS 15 after an interrupted run: error 3 says to restart the iPhone; after a restart the backup completes', async () => {
    const b = await startBench({ profile: { extends: 'tiny', identity: { productVersion: '15.2' } } });
    try {
      const udid = b.te.udids[0] as string;
      await pairedDevice(b, udid);
      const runtime = b.te.emu.find(udid).runtime;
      assert.ok(runtime);
      // The host goes away mid-run (the cable, Ctrl-C): an iOS 15 phone keeps its snapshot.
      runtime.onBytes = () => {
        throw new Error('cut');
      };
      const first = await b.cli(['--json', 'backup']);
      assert.equal(first.code, 1);
      runtime.onBytes = () => undefined;
      const r = await b.cli(['--json', 'backup']);
      assert.equal(r.code, 1, r.stdout);
      const err = json<ErrorDoc>(r.stdout).error;
      assert.equal(err.code, 'DEVICE_SNAPSHOT_STUCK');
      assert.match(err.remedy, /Restart the iPhone/);
      await b.te.emu.reboot(udid, 10);
      await waitFor(() => b.te.emu.find(udid).runtime !== undefined, 10_000, 'the phone to come back');
      const again = await b.cli(['backup']);
      assert.equal(again.code, 0, again.stdout + again.stderr);
    } finally {
      await b.dispose();
    }
  });
});
