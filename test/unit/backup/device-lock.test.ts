/**
 * The per-phone lock file: one holder at a time (also between processes), BUSY naming the holder,
 * stale locks of dead processes taken over, other computers' locks never, a racing crowd of
 * takers leaving exactly one winner, and release removing only its own lock.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DeviceLock, lockPath, rootOfBackupFolder } from '../../../src/backup/device-lock.js';
import { hasCode } from '../../../src/errors.js';
import { REPO_ROOT } from '../../support/repo-root.js';

const UDID = '00008030-001A2B3C4D5E6F70';

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'ibackup-lock-'));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('DeviceLock', () => {
  test('one holder at a time; BUSY names the holder; released, it can be taken again', () =>
    withRoot(async (root) => {
      const a = await DeviceLock.acquire(root, UDID, { purpose: 'watch' });
      await assert.rejects(
        DeviceLock.acquire(root, UDID.toLowerCase().replace('-', '')),
        (e) =>
          hasCode(e, 'BUSY') &&
          e.details.pid === process.pid &&
          e.details.purpose === 'watch' &&
          /watch/.test(e.message),
      );
      const other = await DeviceLock.acquire(root, '00008030-0000000000000001');
      await other.release();
      await a.release();
      await a.release();
      const b = await DeviceLock.acquire(root, UDID);
      await b.release();
      const left = await readdir(dirname(lockPath(root, UDID)));
      assert.deepEqual(left, [], 'no lock or temporary file is left behind');
    }));

  test("a dead process's lock is taken over; another computer's lock is not", () =>
    withRoot(async (root) => {
      const path = lockPath(root, UDID);
      await mkdir(dirname(path), { recursive: true });
      const stale = { pid: 999_999, host: hostname(), token: 'dead', since: '2026-01-01T00:00:00Z', purpose: 'backup' };
      await writeFile(path, JSON.stringify(stale));
      const lock = await DeviceLock.acquire(root, UDID, { isAlive: () => false });
      assert.equal(JSON.parse(await readFile(path, 'utf8')).token, lock.holder.token);
      await lock.release();
      await writeFile(path, JSON.stringify({ ...stale, host: 'another-computer' }));
      await assert.rejects(DeviceLock.acquire(root, UDID, { isAlive: () => false }), (e) => hasCode(e, 'BUSY'));
    }));

  test('an unreadable lock is respected while fresh (its writer may be at work), then taken over', () =>
    withRoot(async (root) => {
      const path = lockPath(root, UDID);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, '{"pid":');
      await assert.rejects(DeviceLock.acquire(root, UDID), (e) => hasCode(e, 'BUSY'));
      const { utimes } = await import('node:fs/promises');
      const old = new Date(Date.now() - 60_000);
      await utimes(path, old, old);
      const lock = await DeviceLock.acquire(root, UDID);
      await lock.release();
    }));

  test('release leaves alone a lock that is no longer its own', () =>
    withRoot(async (root) => {
      const lock = await DeviceLock.acquire(root, UDID);
      const theirs = { pid: 1, host: hostname(), token: 'theirs', since: '', purpose: 'backup' };
      await writeFile(lock.path, JSON.stringify(theirs));
      await lock.release();
      assert.equal(JSON.parse(await readFile(lock.path, 'utf8')).token, 'theirs');
    }));

  test('twenty takers at once, over a stale lock: exactly one wins', () =>
    withRoot(async (root) => {
      const path = lockPath(root, UDID);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, JSON.stringify({ pid: 999_999, host: hostname(), token: 'dead', since: '', purpose: '' }));
      const isAlive = (pid: number): boolean => pid === process.pid;
      const tries = await Promise.allSettled(
        Array.from({ length: 20 }, () => DeviceLock.acquire(root, UDID, { isAlive })),
      );
      const won = tries.filter((t) => t.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const t of tries) if (t.status === 'rejected') assert.ok(hasCode(t.reason, 'BUSY'), String(t.reason));
    }));

  test('the root of a backup folder: above .ibackup for a kept version, else the folder holding it', () => {
    assert.equal(rootOfBackupFolder(join('/b', 'ROOT', UDID)), join('/b', 'ROOT'));
    assert.equal(
      rootOfBackupFolder(join('/b', 'ROOT', '.ibackup', 'versions', UDID, '20261207-101010')),
      join('/b', 'ROOT'),
    );
  });

  test('between processes: a second process finds the phone busy while the first holds it', () =>
    withRoot(async (root) => {
      const lock = await DeviceLock.acquire(root, UDID, { purpose: 'watch' });
      const script = `import { DeviceLock } from './src/backup/device-lock.ts';
        try { await DeviceLock.acquire(${JSON.stringify(root)}, ${JSON.stringify(UDID)}); console.log('taken'); }
        catch (e) { console.log(e.code); }`;
      const run = (): Promise<string> =>
        new Promise((done) =>
          execFile(
            process.execPath,
            ['--import', 'tsx', '--input-type=module', '-e', script],
            { cwd: REPO_ROOT },
            (_e, out) => done(out.trim()),
          ),
        );
      assert.equal(await run(), 'BUSY');
      await lock.release();
      assert.equal(await run(), 'taken');
    }));
});
