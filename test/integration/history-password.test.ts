/**
 * Versions of an encrypted backup across a password change: each keeps the password it was made
 * under; `history` marks the earlier ones, `password check` and `verify --at` say which password a
 * version needs, and `diff` takes one password per side.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backupDevice } from '../../src/app/backup.js';
import { changeEncryption } from '../../src/app/encryption.js';
import { json, pairedDevice, startBench, type ErrorDoc } from '../support/bench.js';
import { contentOf } from '../support/backup-vs-device.js';
import { FAST_PROFILE } from '../support/test-emulator.js';

const OLD = 'first backup password';
const NEW = 'second backup password';

describe('versions and backup passwords', () => {
  test('an earlier version opens with the password in use when it was made, and ibackup says so', async () => {
    const b = await startBench({ profile: FAST_PROFILE });
    try {
      const udid = b.te.udids[0] as string;
      const device = await pairedDevice(b, udid);
      const root = b.backupDir;
      await changeEncryption(device, 'on', { root, password: OLD });
      await backupDevice(device, { root });
      contentOf(b.te, udid).mutate('modify', 3);
      await backupDevice(device, { root });
      // The phone re-keys the current backup (<UDID>/); the earlier version keeps the old password.
      await changeEncryption(device, 'change', { root, password: OLD, newPassword: NEW });
      contentOf(b.te, udid).mutate('add', 2);
      await backupDevice(device, { root });
      const cli = (args: string[], password: string, extra: NodeJS.ProcessEnv = {}) =>
        b.cli(['--json', ...args], { env: { IBACKUP_PASSWORD: password, ...extra }, timeoutMs: 60_000 });

      const h = json<{ versions: Array<{ id: string; encrypted: boolean; earlierPassword?: boolean }> }>(
        (await cli(['history', udid], NEW)).stdout,
      );
      assert.equal(h.versions.length, 3);
      assert.equal(h.versions[0]?.earlierPassword, undefined);
      assert.equal(h.versions[1]?.earlierPassword, undefined, 'the backup re-keyed by the change');
      assert.equal(h.versions[2]?.earlierPassword, true, 'the oldest version needs the earlier password');

      const wrong = await cli(['password', 'check', udid, '--at', 'latest~2'], NEW);
      assert.equal(wrong.code, 1);
      const err = json<ErrorDoc>(wrong.stdout).error;
      assert.equal(err.code, 'WRONG_PASSWORD');
      assert.match(err.message, /password was changed after it/);
      assert.match(err.message, new RegExp(h.versions[2]?.id ?? 'none'));

      const right = json<{ correct: boolean; earlierPassword?: boolean }>(
        (await cli(['password', 'check', udid, '--at', 'latest~2'], OLD)).stdout,
      );
      assert.equal(right.correct, true);
      assert.equal(right.earlierPassword, true);
      assert.equal(json<{ correct: boolean }>((await cli(['password', 'check', udid], NEW)).stdout).correct, true);

      const verified = await cli(['verify', udid, '--at', 'latest~2'], OLD);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      const refused = await cli(['verify', udid, '--at', 'latest~2'], NEW);
      assert.equal(json<ErrorDoc>(refused.stdout).error.code, 'WRONG_PASSWORD');

      const diff = await cli(['diff', 'latest~2', 'latest', udid], OLD, { IBACKUP_NEW_PASSWORD: NEW });
      assert.equal(diff.code, 0, diff.stdout + diff.stderr);
      const d = json<{ added: unknown[]; changed: unknown[] }>(diff.stdout);
      assert.ok(d.added.length >= 2, `added: ${d.added.length}`);
    } finally {
      await b.dispose();
    }
  });
});
