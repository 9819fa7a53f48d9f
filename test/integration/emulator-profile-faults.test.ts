/**
 * Faults named in a profile's `behaviour.faults` are armed on the device when it is plugged in,
 * exactly as `ctl fault` sets them; a bad one makes the profile a usage error naming it. The
 * `hostile` fault (a device that turns against the computer) is reachable through ctl and a
 * profile: it serves the next backup connection, the host refuses every hostile request, and the
 * device's own mobilebackup2 comes back afterwards (or stays hostile with repeat=1 until cleared).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { runControl } from '../../src/emulator/ctl.js';
import { parseFault } from '../../src/emulator/faults.js';
import { loadProfileSpec } from '../../src/emulator/profile.js';
import type { ProfileOverrides } from '../../src/emulator/profile-types.js';
import { IbackupError, isIbackupError } from '../../src/errors.js';
import { startBench, type Bench } from '../support/bench.js';
import { pairedHost, virtualDevice } from '../support/crash-safety.js';

const MB2 = 'com.apple.mobilebackup2';
const TIMEOUT = { timeout: 60_000 };

function tinyWith(faults: unknown[]): ProfileOverrides {
  return { extends: 'tiny', behaviour: { faults } } as ProfileOverrides;
}

async function withBench(profile: ProfileOverrides, body: (b: Bench, udid: string) => Promise<void>): Promise<void> {
  const b = await startBench({ profile });
  try {
    await body(b, b.te.udids[0] as string);
  } finally {
    await b.dispose();
  }
}

interface FaultResult {
  faults: Array<Record<string, unknown>>;
  uploaded: { fired: number };
  hostile?: {
    attack: string;
    answers: number;
    refused: number;
    obeyed: string[];
    leaked: string[];
    stillServing: boolean | null;
  };
}

describe('behaviour.faults in a profile', () => {
  test('a JSON profile file: faults in both forms are checked, kept, and armed at start', TIMEOUT, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ibackup-profile-faults-'));
    try {
      const file = join(dir, 'faulty.json');
      const faults = ['stall seconds=1 phase=moving', { name: 'throttle', mbps: 800, repeat: true }];
      await writeFile(file, JSON.stringify({ extends: 'tiny', behaviour: { faults } }));
      const spec = await loadProfileSpec(file);
      assert.deepEqual(spec.behaviour.faults, faults);
      assert.deepEqual((await loadProfileSpec('tiny')).behaviour.faults, [], 'built-in profiles arm nothing');

      const b = await startBench({ profile: file });
      try {
        const device = virtualDevice(b, b.te.udids[0] as string);
        assert.deepEqual(device.runtime?.faults.list(), [
          parseFault('stall', { seconds: 1, phase: 'moving' }),
          parseFault('throttle', { mbps: 800, repeat: true }),
        ]);
      } finally {
        await b.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a bad fault makes the profile a usage error that names it', async () => {
    const bad: Array<[unknown, RegExp]> = [
      ['meltdown', /behaviour\.faults" item 0: Unknown fault "meltdown"/],
      [{ name: 'throttle', mbps: 'fast' }, /item 0: The fault throttle needs mbps=/],
      [{ mbps: 5 }, /item 0: A fault object needs "name"/],
      [{ name: 'stall', seconds: [1] }, /"seconds" must be a string, number or true\/false/],
      ['hostile attack=flood', /"flood" is not a hostile attack/],
      [42, /must be a string like/],
    ];
    for (const [fault, message] of bad) {
      await assert.rejects(loadProfileSpec(tinyWith([fault])), (err: unknown) => {
        assert.ok(err instanceof IbackupError && err.code === 'USAGE', String(err));
        assert.match(err.message, message);
        return true;
      });
    }
    await assert.rejects(
      loadProfileSpec({ extends: 'tiny', behaviour: { faults: 'stall' } } as unknown as ProfileOverrides),
      /must be a list of faults/,
    );
  });

  test(
    'an armed profile fault acts on the first backup: host-full at planning ends it, the next one succeeds',
    TIMEOUT,
    async () => {
      await withBench(tinyWith(['host-full phase=planning']), async (b, udid) => {
        const host = await pairedHost(b, udid);
        await assert.rejects(backupDevice(host, { root: b.backupDir }), (err: unknown) => {
          assert.ok(isIbackupError(err), String(err));
          assert.match(err.message, /105|space/i);
          return true;
        });
        assert.deepEqual(virtualDevice(b, udid).runtime?.faults.list(), [], 'the fault fired once');
        await backupDevice(host, { root: b.backupDir });
      });
    },
  );
});

describe('the hostile fault', () => {
  test(
    'ctl fault U hostile: the next backup meets a hostile device, every request is refused, then the real service is back',
    TIMEOUT,
    async () => {
      await withBench(tinyWith([]), async (b, udid) => {
        const host = await pairedHost(b, udid);
        await backupDevice(host, { root: b.backupDir });
        // The link the hostile paths try to go through (it points outside the backup folder).
        const outside = join(dirname(b.backupDir), 'outside');
        await mkdir(outside);
        await symlink(outside, join(b.backupDir, udid, 'escape'));
        const device = virtualDevice(b, udid);
        const real = device.services.get(MB2);
        const set = (await runControl(b.te.emu, {
          Action: 'fault',
          UDID: udid,
          Fault: 'hostile',
          Params: { attack: 'paths' },
        })) as FaultResult;
        assert.deepEqual(set.faults, [{ name: 'hostile', attack: 'paths', repeat: false }]);
        assert.notEqual(device.services.get(MB2), real, 'mobilebackup2 is the hostile one');

        await assert.rejects(backupDevice(host, { root: b.backupDir }), isIbackupError);
        const after = (await runControl(b.te.emu, { Action: 'fault', UDID: udid, Fault: 'clear' })) as FaultResult;
        assert.equal(device.services.get(MB2), real, 'the real mobilebackup2 is back after one run');
        assert.equal(after.uploaded.fired, 1);
        assert.ok(after.hostile && after.hostile.answers > 0, JSON.stringify(after.hostile));
        assert.deepEqual(after.hostile.obeyed, [], 'the host obeyed hostile requests');
        assert.equal(after.hostile.refused, after.hostile.answers);
        assert.deepEqual(after.hostile.leaked, []);
        assert.equal(after.hostile.stillServing, true);
        await backupDevice(host, { root: b.backupDir });
      });
    },
  );

  test(
    'hostile from a profile with repeat=1 stays until cleared; a malformed attack ends the run with a typed error',
    TIMEOUT,
    async () => {
      await withBench(tinyWith([{ name: 'hostile', attack: 'garbage-frame', repeat: true }]), async (b, udid) => {
        const device = virtualDevice(b, udid);
        assert.deepEqual(device.runtime?.faults.list(), [{ name: 'hostile', attack: 'garbage-frame', repeat: true }]);
        const host = await pairedHost(b, udid);
        for (let i = 0; i < 2; i++) {
          await assert.rejects(
            backupDevice(host, { root: b.backupDir }),
            (err: unknown) => isIbackupError(err) && err.code === 'PROTOCOL_DECODE',
          );
        }
        assert.equal(device.runtime?.faults.list().length, 1, 'repeat=1 keeps it');
        await runControl(b.te.emu, { Action: 'fault', UDID: udid, Fault: 'clear' });
        await backupDevice(host, { root: b.backupDir });
      });
    },
  );

  test('ctl refuses an unknown attack', async () => {
    await withBench(tinyWith([]), async (b, udid) => {
      await assert.rejects(
        runControl(b.te.emu, { Action: 'fault', UDID: udid, Fault: 'hostile', Params: { attack: 'flood' } }),
        (err: unknown) => {
          return err instanceof IbackupError && err.code === 'USAGE' && /paths, deep-plist/.test(err.message);
        },
      );
    });
  });
});
