// `ibackup encryption` and `ibackup restore` against the virtual iPhone, cross-checked with
// libimobiledevice: ideviceinfo sees WillEncrypt change, ibackup reads idevicebackup2's encrypted
// backup, and a restore brings the device back to the backup.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openBackup } from '../../src/backup/open.js';
import { hasCode } from '../../src/errors.js';
import { FAST_PROFILE } from '../support/test-emulator.js';
import { backup2 } from '../support/idevicebackup2.js';
import { compareWithBackup, contentOf } from '../support/backup-vs-device.js';
import { requireTools, runTool } from '../support/interop-tools.js';
import { json, startBench, type ErrorDoc } from '../support/bench.js';

const PW = 'correct horse battery staple';
const PW2 = 'another long passphrase 42';

describe('ibackup encryption and restore', () => {
  test('encryption on/change/off through ibackup, seen by ideviceinfo, and both clients read each other', async (t) => {
    if (!requireTools(t, ['ideviceinfo', 'idevicebackup2'])) return;
    const b = await startBench({ profile: FAST_PROFILE });
    try {
      const udid = b.te.udids[0] as string;
      const env = { USBMUXD_SOCKET_ADDRESS: b.address };
      const willEncrypt = async (): Promise<string> =>
        (
          await runTool('ideviceinfo', ['-u', udid, '-q', 'com.apple.mobile.backup', '-k', 'WillEncrypt'], env)
        ).stdout.trim();
      assert.equal((await b.cli(['pair'])).code, 0);

      const on2 = await b.cli(['--json', 'encryption', 'on'], { env: { IBACKUP_PASSWORD: PW }, timeoutMs: 60_000 });
      assert.equal(on2.code, 0, on2.stderr);
      assert.deepEqual(json<{ encryption: boolean }>(on2.stdout).encryption, true);
      assert.equal(await willEncrypt(), 'true');
      assert.ok(!on2.stdout.includes(PW) && !on2.stderr.includes(PW), 'the password is never printed');

      const again = await b.cli(['--json', 'encryption', 'on'], { env: { IBACKUP_PASSWORD: PW } });
      assert.equal(again.code, 1);
      assert.equal(json<ErrorDoc>(again.stdout).error.code, 'ENCRYPTION_STATE');

      // ibackup's encrypted backup; idevicebackup2's too, which ibackup then reads.
      const mine = await b.cli(['--json', 'backup'], { timeoutMs: 90_000 });
      assert.equal(mine.code, 0, mine.stderr);
      const dir = json<{ path: string; encrypted: boolean }>(mine.stdout);
      assert.equal(dir.encrypted, true);
      const cmp = await compareWithBackup(contentOf(b.te, udid), dir.path, {
        password: PW,
        includeEncryptedOnly: true,
      });
      assert.deepEqual(cmp.differences, []);
      const theirs = join(b.backupDir, 'theirs');
      await import('node:fs/promises').then((fs) => fs.mkdir(theirs, { recursive: true }));
      const r = await backup2(b.te, udid, ['backup', theirs]);
      assert.match(r.stdout, /Backup Successful/);
      const theirCmp = await compareWithBackup(contentOf(b.te, udid), join(theirs, udid), {
        password: PW,
        includeEncryptedOnly: true,
      });
      assert.deepEqual(theirCmp.differences, []);
      assert.ok(theirCmp.files > 0);

      // A wrong current password changes nothing; the right one re-keys ibackup's backup.
      const wrong = await b.cli(['--json', 'encryption', 'change'], {
        env: { IBACKUP_PASSWORD: 'nope', IBACKUP_NEW_PASSWORD: PW2 },
        timeoutMs: 60_000,
      });
      assert.equal(wrong.code, 1);
      assert.equal(json<ErrorDoc>(wrong.stdout).error.code, 'WRONG_PASSWORD');
      const change = await b.cli(['--json', 'encryption', 'change'], {
        env: { IBACKUP_PASSWORD: PW, IBACKUP_NEW_PASSWORD: PW2 },
        timeoutMs: 60_000,
      });
      assert.equal(change.code, 0, change.stderr);
      const reopened = await openBackup(dir.path, { password: PW2 });
      await reopened.close();
      await assert.rejects(openBackup(dir.path, { password: PW }), (e: unknown) => hasCode(e, 'WRONG_PASSWORD'));

      // Restore after changes brings the device back to the backup.
      await b.te.emu.find(udid).runtime?.mutate('modify', 3);
      await b.te.emu.find(udid).runtime?.mutate('add', 2);
      const restore = await b.cli(['--json', 'restore', '--no-reboot', '--system', '--remove'], {
        env: { IBACKUP_PASSWORD: PW2 },
        timeoutMs: 90_000,
      });
      assert.equal(restore.code, 0, restore.stderr);
      const after = await compareWithBackup(contentOf(b.te, udid), dir.path, {
        password: PW2,
        includeEncryptedOnly: true,
      });
      assert.deepEqual(after.differences, []);

      const wrongRestore = await b.cli(['--json', 'restore', '--no-reboot'], {
        env: { IBACKUP_PASSWORD: 'nope' },
        timeoutMs: 60_000,
      });
      assert.equal(wrongRestore.code, 1);
      assert.equal(
        json<ErrorDoc>(wrongRestore.stdout).error.code,
        'WRONG_PASSWORD',
        'checked here, before the device is touched',
      );

      const off = await b.cli(['--json', 'encryption', 'off'], { env: { IBACKUP_PASSWORD: PW2 }, timeoutMs: 60_000 });
      assert.equal(off.code, 0, off.stderr);
      assert.equal(await willEncrypt(), 'false');
      const status = await b.cli(['--json', 'encryption', 'status']);
      assert.deepEqual(json<{ encryption: boolean }>(status.stdout).encryption, false);
    } finally {
      await b.dispose();
    }
  });
});
