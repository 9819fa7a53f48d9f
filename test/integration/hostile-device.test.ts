/**
 * A device is untrusted: the virtual iPhone's "hostile" fault sends, for every DeviceLink request
 * that names a path, paths with `..`, absolute paths, NUL and `\`, other folders, and paths through
 * a symbolic link that points outside. Each gets an error status, nothing outside the device's
 * folder is read, listed, created, changed or deleted, the run goes on and ends cleanly, and the
 * next backup completes. Malformed messages end the run with a typed error, quickly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { isIbackupError } from '../../src/errors.js';
import {
  HOSTILE_CANARY,
  hostilePaths,
  installHostileFault,
  type HostileAttack,
} from '../../src/emulator/services/mobilebackup2/hostile.js';
import { startBench, type Bench } from '../support/bench.js';
import { assertRecoverable, assertReleased, pairedHost, virtualDevice } from '../support/crash-safety.js';

/** Every file under `dir` (no link followed), except the `skip` folders: path → size and hash. */
async function tree(dir: string, skip: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      if (skip.includes(p)) continue;
      const st = await lstat(p);
      if (st.isDirectory()) {
        out.set(p, 'dir');
        await walk(p);
      } else if (st.isSymbolicLink()) out.set(p, 'link');
      else
        out.set(
          p,
          `${st.size}:${createHash('sha256')
            .update(await readFile(p))
            .digest('hex')}`,
        );
    }
  };
  await walk(dir);
  return out;
}

async function setup(): Promise<{ b: Bench; udid: string; root: string; top: string; outside: string }> {
  const b = await startBench();
  const udid = b.te.udids[0] as string;
  const root = b.backupDir;
  const top = dirname(root);
  const host = await pairedHost(b, udid);
  await backupDevice(host, { root });
  // Things a hostile device would like to read, overwrite or delete.
  const outside = join(top, 'outside');
  await mkdir(join(outside, 'sub'), { recursive: true });
  for (const p of [
    join(top, `${HOSTILE_CANARY}.txt`),
    join(outside, `${HOSTILE_CANARY}.txt`),
    join(outside, 'sub', `${HOSTILE_CANARY}.txt`),
    join(root, 'OTHER-DEVICE', `${HOSTILE_CANARY}.txt`),
  ]) {
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, 'sentinel: must never be read, changed or removed by a device\n');
  }
  await symlink(outside, join(root, udid, 'escape'));
  return { b, udid, root, top, outside };
}

describe('hostile device', () => {
  test('every path rule, for every request that names a path: an error status, nothing outside touched', async () => {
    const { b, udid, root, top } = await setup();
    try {
      const skip = [join(root, udid), join(root, '.ibackup')];
      const before = await tree(top, skip);
      const etc = await readFile('/etc/passwd').catch(() => undefined);
      const fault = installHostileFault(virtualDevice(b, udid), 'paths');
      const host = await pairedHost(b, udid);
      const started = Date.now();
      try {
        await assert.rejects(backupDevice(host, { root }), (err: unknown) => {
          assert.ok(isIbackupError(err), `untyped: ${String(err)}`);
          assert.equal(err.code, 'DEVICE_BACKUP_ERROR');
          return true;
        });
      } finally {
        fault.clear();
      }
      assert.ok(Date.now() - started < 60_000);
      const requests = [
        'DLMessageDownloadFiles',
        'DLContentsOfDirectory',
        'DLMessageCreateDirectory',
        'DLMessageUploadFiles',
        'DLMessageMoveItems',
        'DLMessageRemoveItems',
        'DLMessageCopyItem',
      ];
      for (const p of hostilePaths(udid)) {
        const answers = fault.answers.filter((a) => a.path === p);
        assert.deepEqual(
          [...new Set(answers.map((a) => a.request))].sort(),
          [...requests].sort(),
          `every request tried ${JSON.stringify(p)}`,
        );
        const done = answers.filter((a) => a.code === 0);
        assert.deepEqual(done, [], `the host obeyed a hostile request for ${JSON.stringify(p)}`);
      }
      assert.deepEqual(fault.leaked, [], 'files were sent back to the device');
      assert.equal(fault.stillServing, true, 'the run went on after the hostile requests');
      assert.deepEqual(await tree(top, skip), before, 'something outside the device folder changed');
      assert.equal(existsSync(`/tmp/${HOSTILE_CANARY}.txt`), false);
      if (etc) assert.deepEqual(await readFile('/etc/passwd'), etc);
      const mine = await readdir(join(root, udid));
      assert.deepEqual(
        mine.filter((n) => n.includes(HOSTILE_CANARY)),
        [],
        'nothing planted in the device folder',
      );
      assert.ok(mine.includes('Info.plist'), 'Info.plist was not moved away');
      assert.ok((await lstat(join(root, udid, 'escape'))).isSymbolicLink(), 'the link was left alone');
      // The last complete backup is intact and the next backup completes.
      await assertRecoverable(root, udid, 'after the hostile run');
      await backupDevice(host, { root });
      assertReleased(root, udid);
      await assertRecoverable(root, udid, 'next backup');
    } finally {
      await b.dispose();
    }
  });

  const malformed: Array<[HostileAttack, string[]]> = [
    ['deep-plist', ['PROTOCOL_DECODE']],
    ['garbage-frame', ['PROTOCOL_DECODE']],
    ['huge-frame', ['FRAME_TOO_LARGE']],
    ['huge-path-length', ['PROTOCOL_DECODE', 'FRAME_TOO_LARGE']],
  ];
  for (const [attack, codes] of malformed) {
    test(`${attack}: the run ends with a typed error within seconds; the last backup stays intact`, async () => {
      const b = await startBench();
      try {
        const udid = b.te.udids[0] as string;
        const root = b.backupDir;
        const host = await pairedHost(b, udid);
        await backupDevice(host, { root });
        const fault = installHostileFault(virtualDevice(b, udid), attack);
        const started = Date.now();
        try {
          await assert.rejects(backupDevice(host, { root }), (err: unknown) => {
            assert.ok(isIbackupError(err), `untyped: ${String(err)}`);
            assert.ok(codes.includes(err.code), `${attack}: ${err.code} ${err.message}`);
            return true;
          });
        } finally {
          fault.clear();
        }
        assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
        await assertRecoverable(root, udid, attack);
        await backupDevice(host, { root });
        await assertRecoverable(root, udid, `${attack}, next backup`);
      } finally {
        await b.dispose();
      }
    });
  }
});
