/**
 * Resumed encrypted backups with libimobiledevice's idevicebackup2, a host that keeps Snapshot/
 * after a failed run and checks nothing the device reuses: the virtual iPhone alone must make a
 * resumed run right. Rounds of a run cut by a pulled cable at a seeded point, many changes (about
 * half keeping their size, hence their padded size), then a run that completes; every file of the
 * backup must decrypt to the device's bytes. Replay with IBACKUP_SEED=<seed printed below>.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom } from '../support/random.js';
import { compareWithBackup, runtimeOf } from '../support/backup-vs-device.js';
import { FAST_PROFILE, startTestEmulator } from '../support/test-emulator.js';
import { startTool, pairWithTool, requireTools } from '../support/interop-tools.js';
import { waitFor } from '../support/wait.js';

const SEED = Number(process.env.IBACKUP_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`backup-resume seed: ${SEED} (replay with IBACKUP_SEED=${SEED})`);

const TOOLS = ['idevicebackup2', 'idevicepair'] as const;
const PASSWORD = 'resume-PW';
const ROUNDS = 4;

describe('idevicebackup2 resumes encrypted backups of the virtual iPhone', { timeout: 300_000 }, () => {
  test(`${ROUNDS} rounds: cut at a seeded point, changes, a completed run that decrypts to the device's bytes`, async (t) => {
    if (!requireTools(t, TOOLS)) return;
    const rnd = seededRandom(SEED);
    const te = await startTestEmulator({ profile: FAST_PROFILE });
    try {
      const device = te.emu.devices()[0];
      assert.ok(device);
      const rt = runtimeOf(device);
      const udid = device.udid;
      await device.state.updateSettings({ backupPassword: PASSWORD });
      await pairWithTool(te, udid);
      const root = join(te.root, 'backups');
      await mkdir(root, { recursive: true });
      const complete = async (what: string): Promise<number> => {
        const before = rt.faults.counters.bytes;
        const r = await te.tool('idevicebackup2', ['-u', udid, 'backup', root]);
        assert.match(r.stdout, /Backup Successful\./, `${what}: ${r.stdout.slice(-600)}${r.stderr.slice(-300)}`);
        const { differences, files } = await compareWithBackup(rt.content, join(root, udid), {
          password: PASSWORD,
          includeEncryptedOnly: true,
        });
        assert.deepEqual(differences, [], what);
        assert.ok(files > 50, `${what}: ${files} files compared`);
        return rt.faults.counters.bytes - before;
      };
      const full = await complete('the first backup');
      for (let r = 0; r < ROUNDS; r++) {
        await rt.mutate('modify', 3);
        const cutAt = Math.floor(full * (0.3 + 0.6 * rnd()));
        const what = `seed ${SEED}, round ${r + 1}, cut after ${cutAt} bytes`;
        // Full runs (the folder's Status.plist is not finished after a cut) stage every file.
        const fired = rt.faults.counters.fired;
        await rt.mutate('delete', 1);
        rt.faults.set({ name: 'disconnect', bytes: cutAt, repeat: false });
        const run = startTool(te, 'idevicebackup2', ['-u', udid, 'backup', '--full', root]);
        await waitFor(() => rt.faults.counters.fired > fired, 15_000, `${what}: the disconnect`);
        await new Promise((res) => setTimeout(res, 300));
        run.stop();
        await run.result;
        await rt.mutate('modify', 30);
        await complete(what);
      }
    } finally {
      await te.dispose();
    }
  });
});
