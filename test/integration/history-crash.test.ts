/**
 * Interruptions while a version is made and while versions are pruned.
 *
 * - Version creation: after the phone says the backup finished, the run completes the version of
 *   the backup it replaced, records the new one and prunes. A file system that "dies" at a seeded
 *   operation of that stretch (that call and every later one fail, as if the process were killed
 *   there: nothing more reaches the disk) must leave the current backup and every earlier version
 *   complete — once the next reader settles what the run left — and the next backup completes.
 * - Pruning: `ibackup history policy --max 1` killed with SIGKILL at seeded moments leaves no half
 *   version (each folder still listed verifies), never loses the newest or a pinned version, and
 *   the next run removes the rest.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { verifyBackupAt } from '../../src/app/verify.js';
import { readHistory } from '../../src/backup/history.js';
import { nodeFs, type FsLayer } from '../../src/backup/fs-layer.js';
import { writeHistorySettings, DEFAULT_POLICY } from '../../src/backup/retention.js';
import { versionDir, versionsDir } from '../../src/backup/versions.js';
import { buildBackup, tempRoot } from '../support/backup-fixtures.js';
import { startBench } from '../support/bench.js';
import { REPO_ROOT } from '../support/repo-root.js';
import { assertReleased, pairedHost, virtualDevice } from '../support/crash-safety.js';
import { seededRandom } from '../support/random.js';

const SEED = Number(process.env.IBACKUP_TEST_SEED ?? 7121);
const MUTATING = ['open', 'rename', 'mkdir', 'rm', 'copyFile', 'link', 'sync', 'createFile'] as const;

/** The real file system until `dieAt` mutating calls after "complete"; from then on every one fails. */
function dyingFs(dieAt: number): FsLayer & { calls: number } {
  const state = { armed: false, calls: 0 };
  const fs: FsLayer & { calls: number } = { ...nodeFs, calls: 0 };
  for (const op of MUTATING) {
    const real = nodeFs[op] as (...a: unknown[]) => unknown;
    (fs as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
      if (state.armed && ++fs.calls >= dieAt) {
        return Promise.reject(Object.assign(new Error(`EIO: the process is gone (${op})`), { code: 'EIO' }));
      }
      return real.apply(nodeFs, args);
    };
  }
  fs.event = (name) => {
    if (name === 'complete') state.armed = true;
  };
  return fs;
}

/** `ibackup history policy UDID --max 1` in a process of its own (to be killed). */
function prunePolicy(root: string, udid: string): ChildProcess {
  const cli = join(REPO_ROOT, 'src/cli/main.ts');
  const args = ['--import', 'tsx', cli, '--backup-dir', root, 'history', 'policy', udid, '--max', '1'];
  return spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: 'ignore' });
}

/**
 * Every version there was is still there, and the newest `newest` verify (a complete version never
 * changes afterwards: the run could only have touched the current backup and the one it was making).
 */
async function assertKept(root: string, udid: string, ids: readonly string[], what: string, newest = 2): Promise<void> {
  const h = await readHistory(root, udid);
  const present = h.versions.map((v) => v.id);
  for (const id of ids) assert.ok(present.includes(id), `${what}: version ${id} is lost (${present.join(', ')})`);
  for (const v of h.versions.slice(0, newest)) {
    const r = await verifyBackupAt(v.path);
    assert.equal(r.ok, true, `${what}: ${v.id} ${JSON.stringify(r.problems.slice(0, 2))}`);
  }
}

describe('history and interruptions', () => {
  test('a run that dies at a seeded point of making a version loses no version', { timeout: 180_000 }, async () => {
    process.stderr.write(`history-crash seed: ${SEED}\n`);
    const random = seededRandom(SEED);
    const b = await startBench();
    try {
      const udid = b.te.udids[0] as string;
      const root = b.backupDir;
      const host = await pairedHost(b, udid);
      const rt = virtualDevice(b, udid).runtime;
      assert.ok(rt);
      let clock = Date.UTC(2026, 5, 1, 12, 0, 0);
      const now = (): Date => new Date((clock += 60_000));
      await backupDevice(host, { root, now });
      await rt.mutate('modify', 2);
      const measure = dyingFs(Number.POSITIVE_INFINITY);
      await backupDevice(host, { root, now, fs: measure });
      const total = measure.calls;
      assert.ok(total > 20, `the version's making has ${total} steps`);
      for (let i = 0; i < 10; i++) {
        const before = (await readHistory(root, udid, { sizes: false })).versions.map((v) => v.id);
        await rt.mutate('modify', 2);
        await rt.mutate('add', 1);
        await rt.mutate('delete', 1);
        const dieAt = 1 + Math.floor(random() * total);
        await backupDevice(host, { root, now, fs: dyingFs(dieAt) }).catch(() => undefined);
        await assertKept(root, udid, before, `died at step ${dieAt} of ${total}`);
      }
      await rt.mutate('modify', 1);
      await backupDevice(host, { root, now });
      assertReleased(root, udid);
      const h = await readHistory(root, udid);
      assert.ok(h.versions.length >= 12, `${h.versions.length} versions`);
      await assertKept(root, udid, [], 'at the end', h.versions.length);
    } finally {
      await b.dispose();
    }
  });

  test(
    'kill -9 while pruning leaves no half version and never the newest or a pinned one',
    { timeout: 120_000 },
    async () => {
      const random = seededRandom(SEED + 1);
      const t = tempRoot();
      try {
        const root = join(t.root, 'Backup');
        mkdirSync(root);
        const entries = Array.from({ length: 600 }, (_, k) => ({
          domain: 'HomeDomain',
          relativePath: `Library/Pruned/f${k}.dat`,
          kind: 'file' as const,
          content: new TextEncoder().encode(`file ${k}`),
        }));
        const udid = '00008120-00AB12CD34EF5678';
        const base = buildBackup(join(t.root, 'templates'), { udid, entries });
        const ids = Array.from({ length: 8 }, (_, k) => `2026010${k + 1}-120000`);
        mkdirSync(versionsDir(root, udid), { recursive: true });
        cpSync(base.dir, join(root, udid), { recursive: true });
        for (const id of ids) cpSync(base.dir, versionDir(root, udid, id), { recursive: true }); // unshared: slow to remove
        await writeHistorySettings(root, udid, { policy: DEFAULT_POLICY, pinned: [ids[2] as string] });
        for (let round = 0; round < 4; round++) {
          const delay = Math.floor(random() * 40);
          const child = prunePolicy(root, udid);
          // Killed `delay` ms after the first version is hidden for removal: during the pruning.
          const exit = new Promise((done) => child.once('exit', done));
          const hidden = (): boolean => readdirSync(versionsDir(root, udid)).some((n) => n.startsWith('.deleting-'));
          const watch = setInterval(() => {
            if (!hidden()) return;
            clearInterval(watch);
            setTimeout(() => child.kill('SIGKILL'), delay);
          }, 1);
          await exit;
          clearInterval(watch);
          const h = await readHistory(root, udid, { sizes: false });
          const left = h.versions.map((v) => v.id);
          assert.ok(left.includes(ids[2] as string), `round ${round}: the pinned version is gone`);
          assert.equal(h.versions[0]?.current, true, `round ${round}: the newest is gone`);
          for (const v of h.versions) {
            assert.equal((await verifyBackupAt(v.path)).ok, true, `round ${round} (killed after ${delay} ms): ${v.id}`);
          }
          const all = readdirSync(versionsDir(root, udid));
          process.stderr.write(
            `prune round ${round}: killed ${delay} ms into the pruning, ${left.length} versions left\n`,
          );
          const names = all.filter((n) => !n.startsWith('.'));
          assert.deepEqual(
            names.sort(),
            left.filter((id) => id !== h.versions[0]?.id).sort(),
            'every folder is a version',
          );
        }
        const done = prunePolicy(root, udid);
        assert.equal(await new Promise((r) => done.once('exit', r)), 0);
        assert.deepEqual(
          readdirSync(versionsDir(root, udid)),
          [ids[2]],
          'only the pinned version is left beside the current',
        );
      } finally {
        t.cleanup();
      }
    },
  );
});
