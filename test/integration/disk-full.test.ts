/**
 * Disk full, on a small tmpfs (mounting needs root, as in CI; elsewhere the test is skipped with a
 * message unless IBACKUP_REQUIRE_INTEROP=1): a first backup is refused up front in plain words;
 * an incremental that runs out of space mid-way ends with the same plain-words error and leaves
 * the last complete backup intact; once there is room again, the next backup completes.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { isIbackupError } from '../../src/errors.js';
import { startBench } from '../support/bench.js';
import { assertRecoverable, assertReleased, pairedHost, virtualDevice } from '../support/crash-safety.js';

const MIB = 1024 * 1024;

/** Mounts a tmpfs of `bytes`; undefined (test skipped or failed) when this user may not. */
async function tmpfs(
  t: TestContext,
  bytes: number,
): Promise<{ dir: string; dispose: () => Promise<void> } | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'ibackup-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const why = `cannot mount a tmpfs (needs root): ${String((err as Error).message).split('\n')[0]}`;
    if (process.env.IBACKUP_REQUIRE_INTEROP === '1')
      assert.fail(`${why}, and IBACKUP_REQUIRE_INTEROP=1 requires the disk-full tests`);
    t.skip(`${why}: skipping the disk-full test`);
    return undefined;
  }
  return {
    dir,
    dispose: async () => {
      execFileSync('umount', [dir], { stdio: 'pipe' });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function free(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** Fills the disk until about `left` bytes are free. */
async function fill(dir: string, name: string, left: number): Promise<void> {
  const n = Math.max(0, (await free(dir)) - left);
  await writeFile(join(dir, name), Buffer.alloc(n));
}

describe('disk full', () => {
  test('a first backup that cannot fit is refused before anything is written, in plain words', async (t) => {
    const disk = await tmpfs(t, 16 * MIB);
    if (!disk) return;
    const b = await startBench();
    try {
      const udid = b.te.udids[0] as string;
      const host = await pairedHost(b, udid);
      const root = join(disk.dir, 'Backup');
      await assert.rejects(backupDevice(host, { root }), (err: unknown) => {
        assert.ok(isIbackupError(err));
        assert.equal(err.code, 'DISK_FULL');
        assert.match(err.message, /Not enough free space for a first backup/);
        assert.match(err.remedy, /Free .* or choose another folder with --backup-dir/);
        return true;
      });
    } finally {
      await b.dispose();
      await disk.dispose();
    }
  });

  test(
    'running out of space during an incremental: DISK_FULL, the last complete backup intact, then it completes',
    { timeout: 300_000 },
    async (t) => {
      const disk = await tmpfs(t, 40 * MIB);
      if (!disk) return;
      const b = await startBench();
      try {
        const udid = b.te.udids[0] as string;
        const host = await pairedHost(b, udid);
        // The first backup is made elsewhere (a full backup asks for the phone's used space + 1 GB)
        // and copied onto the small disk.
        const first = join(b.backupDir, '..', 'first');
        await backupDevice(host, { root: first });
        const root = join(disk.dir, 'Backup');
        execFileSync('cp', ['-a', first, root]);
        await assertRecoverable(root, udid, 'copied');
        const rt = virtualDevice(b, udid).runtime;
        assert.ok(rt);
        await rt.mutate('add', 6);
        await rt.mutate('modify', 4);
        await rt.mutate('delete', 2);
        const fulls: string[] = [];
        // Less and less room: the device's own free-space check, then ENOSPC mid-way.
        for (const left of [0, 64 * 1024, 512 * 1024, MIB, 2 * MIB]) {
          await fill(disk.dir, 'ballast', left);
          try {
            await backupDevice(host, { root });
            break; // it fitted after all
          } catch (err) {
            assert.ok(isIbackupError(err), `untyped: ${String(err)}`);
            assert.equal(err.code, 'DISK_FULL', `${left} bytes free: ${err.code} ${err.message}`);
            assert.match(err.message, /space/);
            assert.match(err.remedy, /Free some space/);
            fulls.push(err.message);
          } finally {
            await rm(join(disk.dir, 'ballast'), { force: true });
          }
          await assertRecoverable(root, udid, `${left} bytes free`);
        }
        t.diagnostic(fulls.join(' | '));
        assert.ok(fulls.length > 0, 'the disk never filled up');
        await backupDevice(host, { root });
        assertReleased(root, udid);
        const last = await assertRecoverable(root, udid, 'room again');
        assert.equal(last.kind, 'current');
      } finally {
        await b.dispose();
        await disk.dispose();
      }
    },
  );
});
