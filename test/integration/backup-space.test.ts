/**
 * A first backup into a folder without room for it stops before the phone is asked for anything,
 * saying how much is needed and where. The folder is a 1 MiB tmpfs when this test may mount one;
 * otherwise the phone claims more used space than the temp folder's disk has free.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json, startBench, type ErrorDoc } from './cli-helpers.js';
import { pairedDevice } from './backup-helpers.js';

const GIB = 1024 ** 3;

/** Mounts a 1 MiB tmpfs on `dir`; false when that is not allowed here. */
function mountTinyTmpfs(dir: string): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  return spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore', timeout: 5_000 }).status === 0;
}

describe('free space before a first backup', () => {
  test('DISK_FULL before starting, with the amount needed and the folder', async (t) => {
    const scratch = await mkdtemp(join(tmpdir(), 'ibackup-space-'));
    const target = join(scratch, 'small');
    await mkdir(target);
    const mounted = mountTinyTmpfs(target);
    let profile: Parameters<typeof startBench>[0];
    if (!mounted) {
      // A phone whose used space alone is more than the disk has free.
      const s = await statfs(target);
      const free = Number(s.bavail) * Number(s.bsize);
      profile = { profile: { extends: 'tiny', identity: { usedBytes: free + GIB, totalCapacityBytes: free * 2 + 8 * GIB } } };
      t.diagnostic('no tmpfs here: the phone claims more used space than the disk has free');
    }
    const b = await startBench(profile);
    try {
      const udid = b.te.udids[0] as string;
      await pairedDevice(b, udid);
      const runtime = b.te.emu.find(udid).runtime;
      assert.ok(runtime);
      const posted: string[] = [];
      runtime.bus.on('post', (name: string) => posted.push(name));

      const r = await b.cli(['--json', '--backup-dir', target, 'backup']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const err = json<ErrorDoc>(r.stdout).error;
      assert.equal(err.code, 'DISK_FULL');
      assert.match(err.message, /needs about \d+(\.\d)? GiB/);
      assert.ok(err.message.includes(target), `the message names the folder: ${err.message}`);
      assert.match(err.message, /has [\d.]+ (MiB|GiB|bytes) free/);
      assert.match(err.remedy, /--backup-dir/);
      // Stopped before starting: no sync, no backup run, nothing written.
      assert.deepEqual(posted, []);
      assert.equal(runtime.runs.size, 0);
      assert.equal(existsSync(join(target, udid)), false);
      assert.deepEqual(await readdir(target), []);
    } finally {
      await b.dispose();
      if (mounted) spawnSync('umount', [target], { stdio: 'ignore', timeout: 5_000 });
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
