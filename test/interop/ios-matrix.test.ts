/**
 * Every iOS generation the virtual iPhone models (docs/devices.md), end to end with ibackup: pair,
 * a full and an incremental backup (each verified and compared file by file with the phone),
 * encryption on, an encrypted backup, a password change (the backup re-keyed), a restore after
 * the phone changed, encryption off — and the same phone backed up by libimobiledevice's
 * idevicebackup2 where the installed version copes with that generation. The phones' modelled
 * waits (passcode prompt, preparation) run compressed (the test emulators' time scale).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { changeEncryption } from '../../src/app/encryption.js';
import { restoreDevice } from '../../src/app/restore.js';
import { verifyBackupAt } from '../../src/app/verify.js';
import { pairedDevice, startBench } from '../support/bench.js';
import { BACKUP_TOOLS, backup2 } from '../support/idevicebackup2.js';
import { compareWithBackup, contentOf } from '../support/backup-vs-device.js';
import { missingTools } from '../support/interop-tools.js';
import { UNREADABLE_FROM_IOS_17 } from '../../src/emulator/services/mobilebackup2/unreadable.js';

/** One version per generation whose behaviour differs (docs/devices.md): 12.4 still has plaintext services, 12.5 has service TLS. */
const GENERATIONS = ['12.4', '12.5.7', '13.7', '14.8', '15.8', '16.1.2', '17.5.1', '18.1', '26.1'];
const PW = 'matrix password one';
const PW2 = 'matrix password two';
const USER_DOMAINS = (d: string): boolean =>
  d.startsWith('AppDomain') || d === 'HomeDomain' || d === 'CameraRollDomain' || d === 'MediaDomain';

async function assertVerifies(dir: string, password?: string): Promise<void> {
  const r = await verifyBackupAt(dir, password === undefined ? {} : { password: async () => password });
  const errors = r.problems.filter((p) => p.severity === 'error');
  assert.deepEqual(
    errors.map((p) => p.message),
    [],
  );
  assert.equal(r.ok, true);
}

/**
 * Another tool's backup keeps no record of the files the phone could not read (iOS 17+), so verify
 * finds them short: those, and only those, are its problems.
 */
async function assertVerifiesBut(dir: string, ios: string): Promise<void> {
  const r = await verifyBackupAt(dir);
  const short =
    Number(ios.split('.')[0]) >= 17 ? UNREADABLE_FROM_IOS_17.map((u) => `${u.domain}/${u.relativePath}`) : [];
  const errors = r.problems.filter((p) => p.severity === 'error');
  assert.deepEqual(errors.map((p) => `${p.code} ${p.path ?? ''}`).sort(), short.map((p) => `BLOB_SIZE ${p}`).sort());
}

describe('every modelled iOS generation, with ibackup and idevicebackup2', () => {
  for (const ios of GENERATIONS) {
    test(`iOS ${ios}`, { timeout: 240_000 }, async (t) => {
      const b = await startBench({
        profile: { extends: 'tiny', identity: { productVersion: ios }, behaviour: { keyDerivationIterations: 1000 } },
      });
      try {
        const udid = b.te.udids[0] as string;
        const device = await pairedDevice(b, udid);
        const root = join(b.backupDir, 'ibackup');
        const dir = join(root, udid);
        const runtime = b.te.emu.find(udid).runtime;
        assert.ok(runtime);

        const full = await backupDevice(device, { root });
        assert.equal(full.full, true);
        await assertVerifies(dir);
        assert.deepEqual(
          (await compareWithBackup(contentOf(b.te, udid), dir, { includeEncryptedOnly: false })).differences,
          [],
        );

        await runtime.mutate('modify', 2);
        await runtime.mutate('add', 2);
        await runtime.mutate('delete', 1);
        const inc = await backupDevice(device, { root });
        assert.equal(inc.full, false, 'the second backup is incremental');
        assert.ok(
          inc.filesReceived < full.filesReceived,
          `${inc.filesReceived} files sent again of ${full.filesReceived}`,
        );
        await assertVerifies(dir);
        assert.deepEqual(
          (await compareWithBackup(contentOf(b.te, udid), dir, { includeEncryptedOnly: false })).differences,
          [],
        );

        await changeEncryption(device, 'on', { root, password: PW });
        const enc = await backupDevice(device, { root });
        assert.equal(enc.encrypted, true);
        await assertVerifies(dir, PW);
        await changeEncryption(device, 'change', { root, password: PW, newPassword: PW2 });
        await assertVerifies(dir, PW2);

        // The phone changes; a restore of the encrypted backup brings its files back.
        await runtime.mutate('modify', 3);
        await runtime.mutate('delete', 1);
        await restoreDevice(device, { backupDir: dir, password: async () => PW2, noReboot: true, remove: true });
        const after = await compareWithBackup(contentOf(b.te, udid), dir, {
          password: PW2,
          includeEncryptedOnly: true,
          domain: USER_DOMAINS,
        });
        assert.deepEqual(after.differences, []);
        assert.ok(after.files > 0);
        await changeEncryption(device, 'off', { root, password: PW2 });

        if (missingTools(BACKUP_TOOLS).length > 0) {
          if (process.env.IBACKUP_REQUIRE_INTEROP === '1')
            assert.fail(`missing: ${missingTools(BACKUP_TOOLS).join(', ')}`);
          t.diagnostic('idevicebackup2 is not installed: its half is skipped');
          return;
        }
        const theirs = join(b.backupDir, 'idevicebackup2');
        await mkdir(theirs, { recursive: true });
        const r = await backup2(b.te, udid, ['backup', '--full', theirs]);
        assert.match(r.stdout, /Backup Successful/, r.stdout.slice(-1500));
        assert.deepEqual(
          (await compareWithBackup(contentOf(b.te, udid), join(theirs, udid), { includeEncryptedOnly: false }))
            .differences,
          [],
        );
        await assertVerifiesBut(join(theirs, udid), ios);
      } finally {
        await b.dispose();
      }
    });
  }
});
