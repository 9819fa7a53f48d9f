// libimobiledevice's idevicebackup2 restores an encrypted backup made by ibackup: the folder,
// Manifest.db, keybag and blobs ibackup writes are what Apple's restore protocol expects, and
// the pair record `ibackup pair` saved in usbmuxd is the one idevicebackup2 uses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { BACKUP_TOOLS, backup2 } from '../support/idevicebackup2.js';
import { FAST_PROFILE } from '../support/test-emulator.js';
import { compareWithBackup, contentOf } from '../support/backup-vs-device.js';
import { requireTools } from '../support/interop-tools.js';
import { json, startBench } from '../support/bench.js';

const PW = 'restore me with idevicebackup2';

describe('idevicebackup2 restores ibackup backups', () => {
  test('an encrypted ibackup backup is restored by idevicebackup2 after the device changed', async (t) => {
    if (!requireTools(t, BACKUP_TOOLS)) return;
    const b = await startBench({ profile: FAST_PROFILE });
    t.after(() => b.dispose());
    const udid = b.te.udids[0] as string;

    const pair = await b.cli(['pair']);
    assert.equal(pair.code, 0, pair.stderr);
    const on = await b.cli(['--json', 'encryption', 'on'], { env: { IBACKUP_PASSWORD: PW }, timeoutMs: 30_000 });
    assert.equal(on.code, 0, on.stderr);
    const made = await b.cli(['--json', 'backup'], { timeoutMs: 30_000 });
    assert.equal(made.code, 0, made.stderr);
    const backup = json<{ path: string; encrypted: boolean }>(made.stdout);
    assert.equal(backup.encrypted, true);
    assert.equal(basename(backup.path), udid, 'the backup folder is named after the UDID, as idevicebackup2 expects');
    const fresh = await compareWithBackup(contentOf(b.te, udid), backup.path, {
      password: PW,
      includeEncryptedOnly: true,
    });
    assert.deepEqual(fresh.differences, []);

    const runtime = b.te.emu.find(udid).runtime;
    assert.ok(runtime);
    const changed = await runtime.mutate('modify', 3);
    assert.ok(changed.modified.length >= 3);
    const before = await compareWithBackup(contentOf(b.te, udid), backup.path, {
      password: PW,
      includeEncryptedOnly: true,
    });
    assert.ok(before.differences.length >= 3, `the device differs from the backup: ${before.differences.join('; ')}`);

    const r = await backup2(b.te, udid, ['restore', '--system', '--no-reboot', '--password', PW, dirname(backup.path)]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Restore Successful/, r.stdout);
    assert.doesNotMatch(r.stdout, /Restore Failed|ErrorCode/, r.stdout);

    const after = await compareWithBackup(contentOf(b.te, udid), backup.path, {
      password: PW,
      includeEncryptedOnly: true,
    });
    assert.deepEqual(after.differences, []);
    assert.equal(after.files, fresh.files);
    assert.ok(after.files > 0);
  });
});
