/**
 * The history commands as a user runs them: `history` (text and --json), `history pin` and
 * `history policy`, `files ls --at`, `archive --at` (a version Finder can see), `delete --at latest`
 * (the version before becomes the current backup) and `delete DEVICE` (the phone's whole history).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { versionsDir } from '../../src/backup/versions.js';
import { json, pairedDevice, startBench, type ErrorDoc } from '../support/bench.js';
import { contentOf } from '../support/backup-vs-device.js';

interface History {
  device: string;
  versions: Array<{ id: string; current: boolean; pinned: boolean; path: string; files: number; uniqueBytes: number }>;
  sharedBytes: number;
  totalBytes: number;
}

describe('history on the command line', () => {
  test('history, pin, policy, files --at, archive --at, delete --at latest, delete DEVICE', async () => {
    const b = await startBench();
    try {
      const udid = b.te.udids[0] as string;
      const device = await pairedDevice(b, udid);
      const root = b.backupDir;
      let clock = Date.UTC(2026, 4, 1, 8, 0, 0);
      for (let i = 0; i < 4; i++) {
        if (i > 0) contentOf(b.te, udid).mutate('add', 1);
        const at = new Date((clock += 3_600_000));
        await backupDevice(device, { root, now: () => at });
      }
      const history = async (): Promise<History> => json<History>((await b.cli(['--json', 'history', udid])).stdout);
      const h = await history();
      assert.equal(h.versions.length, 4);
      assert.deepEqual(
        h.versions.map((v) => v.id),
        ['20260501-120000', '20260501-110000', '20260501-100000', '20260501-090000'],
      );
      assert.equal(h.versions[0]?.path, join(root, udid));
      assert.equal(h.totalBytes, h.versions.reduce((n, v) => n + v.uniqueBytes, 0) + h.sharedBytes);

      const text = (await b.cli(['history', udid])).stdout;
      assert.match(text, /History of iPhone \(.+\): 4 versions/);
      assert.match(text, /20260501-090000 .* full /);
      assert.match(text, /current \(Finder\/iTunes see this one\)/);

      assert.equal((await b.cli(['history', 'pin', 'latest~3', udid])).code, 0);
      const policy = json<{ removed: string[] }>(
        (await b.cli(['--json', 'history', 'policy', udid, '--max', '2'])).stdout,
      );
      assert.deepEqual(policy.removed.sort(), ['20260501-100000', '20260501-110000']);
      const kept = await history();
      assert.deepEqual(
        kept.versions.map((v) => [v.id, v.pinned]),
        [
          ['20260501-120000', false],
          ['20260501-090000', true],
        ],
      );
      const bad = await b.cli(['--json', 'history', 'policy', udid, '--daily-for', 'a week']);
      assert.equal(json<ErrorDoc>(bad.stdout).error.code, 'USAGE');

      const ls = json<{ files: unknown[] }>((await b.cli(['--json', 'files', 'ls', udid, '--at', 'previous'])).stdout);
      assert.equal(ls.files.filter((f) => (f as { type: string }).type === 'file').length, kept.versions[1]?.files);
      const missing = await b.cli(['--json', 'files', 'ls', udid, '--at', '20260501-110000']);
      assert.equal(json<ErrorDoc>(missing.stdout).error.code, 'VERSION_NOT_FOUND');

      const archived = json<{ archive: string }>((await b.cli(['--json', 'archive', udid, '--at', 'previous'])).stdout);
      assert.equal(existsSync(join(archived.archive, 'Manifest.db')), true);
      assert.ok(
        readdirSync(root).includes(archived.archive.slice(root.length + 1)),
        'the archive is where Finder looks',
      );

      assert.equal((await b.cli(['delete', udid, '--at', 'latest', '--yes'])).code, 0);
      const promoted = await history();
      assert.deepEqual(
        promoted.versions.map((v) => [v.id, v.current]),
        [['20260501-090000', true]],
      );
      assert.equal(promoted.versions[0]?.path, join(root, udid), 'the version before is the current backup again');

      assert.equal((await b.cli(['delete', udid, '--yes'])).code, 0);
      assert.equal(existsSync(join(root, udid)), false);
      assert.equal(existsSync(versionsDir(root, udid)), false, 'the phone goes with its history');
      assert.equal(existsSync(archived.archive), true, 'archives stay');
    } finally {
      await b.dispose();
    }
  });
});
