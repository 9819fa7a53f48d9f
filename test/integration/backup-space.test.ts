/**
 * Free space before a backup: never refuse one that could fit. A phone's used space (apps,
 * caches, iCloud-only photos) is far above what its backup needs, so a disk with less free than
 * that gets a warning and the backup goes on; only a disk below the floor no backup fits in is
 * refused before the phone is asked for anything, saying how much there is and where. The tiny
 * disk is a 1 MiB tmpfs (mounting needs root, as in CI; elsewhere that test is skipped).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json, startBench, type ErrorDoc, pairedDevice } from '../support/bench.js';

const GIB = 1024 ** 3;

/** Mounts a 1 MiB tmpfs on `dir`; false when that is not allowed here. */
function mountTinyTmpfs(dir: string): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  return (
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore', timeout: 5_000 }).status === 0
  );
}

describe('free space before a backup', () => {
  test('below the floor: DISK_FULL before starting, with what is free and the folder', async (t) => {
    const scratch = await mkdtemp(join(tmpdir(), 'ibackup-space-'));
    const target = join(scratch, 'small');
    await mkdir(target);
    if (!mountTinyTmpfs(target)) {
      t.skip('cannot mount a tmpfs here (needs root on Linux)');
      await rm(scratch, { recursive: true, force: true });
      return;
    }
    const b = await startBench();
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
      assert.ok(err.message.includes(target), `the message names the folder: ${err.message}`);
      assert.match(err.message, /has [\d.]+ (KB|MB|bytes) free, and no backup fits in less than 32\.0 MB/);
      assert.match(err.remedy, /--backup-dir/);
      // Stopped before starting: no sync, no backup run, nothing written.
      assert.deepEqual(posted, []);
      assert.equal(runtime.runs.size, 0);
      assert.equal(existsSync(join(target, udid)), false);
      // Only the phone's lock, taken and released around the check, leaves its (empty) folder.
      assert.deepEqual(await readdir(target, { recursive: true }), ['.ibackup', join('.ibackup', 'locks')]);
    } finally {
      await b.dispose();
      spawnSync('umount', [target], { stdio: 'ignore', timeout: 5_000 });
      await rm(scratch, { recursive: true, force: true });
    }
  });

  test('a phone using more than the disk has free is warned about, not refused: the backup fits and completes', async () => {
    const s = await statfs(tmpdir());
    const free = Number(s.bavail) * Number(s.bsize);
    const b = await startBench({
      profile: { extends: 'tiny', identity: { usedBytes: free + 20 * GIB, totalCapacityBytes: free * 2 + 40 * GIB } },
    });
    try {
      const udid = b.te.udids[0] as string;
      await pairedDevice(b, udid);
      const r = await b.cli(['backup']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /Backup completed/);
      assert.match(
        r.stderr,
        /Warning: .* free and the iPhone uses .*A backup is usually much smaller \(apps, caches and iCloud Photos are not in it\)/s,
      );
    } finally {
      await b.dispose();
    }
  });
});
