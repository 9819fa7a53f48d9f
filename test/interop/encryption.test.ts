/**
 * Encrypted backups of the virtual iPhone through libimobiledevice's idevicebackup2: turning
 * encryption on, an encrypted backup read back by the host's own reader (every file decrypted and
 * compared with the device), password changes (wrong old password, the existing backup re-keyed),
 * turning encryption off, and the iOS 16.1+ passcode prompt (entered later, never entered).
 */
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBackup } from '../../src/backup/open.js';
import { verifyBackup } from '../../src/backup/verify.js';
import { assertOnlyPartialFiles } from '../support/backup-checks.js';
import { isIbackupError } from '../../src/errors.js';
import { PROMPT_DISMISSED, PROMPT_PRESENTED } from '../../src/emulator/passcode.js';
import { BACKUP_TOOLS, backup2 } from '../support/idevicebackup2.js';
import { FAST_PROFILE, startTestEmulator, type TestEmulator } from '../support/test-emulator.js';
import { compareWithBackup, contentOf } from '../support/backup-vs-device.js';
import { pairWithTool, requireTools } from '../support/interop-tools.js';

async function willEncrypt(te: TestEmulator, udid: string): Promise<string> {
  const r = await te.tool('ideviceinfo', ['-u', udid, '-q', 'com.apple.mobile.backup', '-k', 'WillEncrypt']);
  return r.stdout.trim();
}

async function openFails(dir: string, password: string): Promise<string> {
  try {
    (await openBackup(dir, { password })).close();
    return 'opened';
  } catch (err) {
    return isIbackupError(err) ? err.code : String(err);
  }
}

describe('idevicebackup2 and the encryption of the virtual iPhone', { concurrency: true }, () => {
  test('encrypted backups with idevicebackup2: on, backup, wrong and changed passwords, off', async (t) => {
    if (!requireTools(t, BACKUP_TOOLS)) return;
    const te = await startTestEmulator({ profile: FAST_PROFILE });
    const work = await mkdtemp(join(tmpdir(), 'ibackup-enc-'));
    t.after(async () => {
      await te.dispose();
      await rm(work, { recursive: true, force: true });
    });
    const udid = te.udids[0] as string;
    const root = join(work, 'backups');
    await mkdir(root);
    const dir = join(root, udid);
    await pairWithTool(te, udid);
    const posted: string[] = [];
    te.emu.find(udid).runtime?.bus.on('post', (n) => posted.push(n));

    await t.test('encryption on: WillEncrypt becomes true, the passcode prompt comes and goes', async () => {
      assert.equal(await willEncrypt(te, udid), 'false');
      const r = await backup2(te, udid, ['encryption', 'on', 'PW', root]);
      assert.match(r.stdout, /Backup encryption has been enabled successfully/, r.stdout);
      assert.equal(await willEncrypt(te, udid), 'true');
      assert.deepEqual(
        posted.filter((n) => n.includes('LocalAuthentication') || n.includes('domain_changed')),
        [PROMPT_PRESENTED, PROMPT_DISMISSED, 'com.apple.mobile.backup.domain_changed'],
      );
    });

    await t.test('an encrypted backup holds exactly the device content, every file decrypts', async () => {
      const r = await backup2(te, udid, ['backup', root]);
      assert.match(r.stdout, /Backup Successful/, r.stdout);
      const { differences, files } = await compareWithBackup(contentOf(te, udid), dir, {
        password: 'PW',
        includeEncryptedOnly: true,
      });
      assert.deepEqual(differences, []);
      assert.ok(files > 50, `${files} files compared`);
      const backup = await openBackup(dir, { password: 'PW' });
      try {
        assert.equal(backup.isEncrypted, true);
        assert.ok(backup.db.counts().files > 0);
        assert.ok(backup.db.domains().includes('HealthDomain'), 'encrypted-only domain present');
      } finally {
        backup.close();
      }
      const v = await verifyBackup(dir, { password: 'PW', decrypt: true });
      // idevicebackup2 keeps no record of the file the iOS 17 phone could not read: only it is short.
      assertOnlyPartialFiles(v.problems);
      assert.equal(v.counts.filesDecrypted + v.counts.filesDamaged, v.counts.files);
      assert.ok(v.counts.digestsChecked > 0);
      assert.equal(await openFails(dir, 'not-the-password'), 'WRONG_PASSWORD');
    });

    await t.test('changepw with a wrong old password ends with 207', async () => {
      const r = await backup2(te, udid, ['changepw', 'WRONG', 'NEW', root]);
      assert.match(r.stdout, /ErrorCode 207: Invalid password/, r.stdout);
      assert.match(r.stdout, /Could not change backup encryption password/, r.stdout);
    });

    await t.test('changepw re-keys the backup the host holds: it opens with the new password', async () => {
      // idevicebackup2 serves changepw from a folder it names on purpose; point that name at the backups.
      const cwd = join(work, 'changepw');
      await mkdir(cwd);
      await symlink(root, join(cwd, '.this_folder_is_not_present_on_purpose'));
      const r = await backup2(te, udid, ['changepw', 'PW', 'NEW', root], cwd);
      assert.match(r.stdout, /Backup encryption password has been changed successfully/, r.stdout);
      assert.equal(await openFails(dir, 'NEW'), 'opened');
      assert.equal(await openFails(dir, 'PW'), 'WRONG_PASSWORD');
    });

    await t.test('the next backup is incremental and the whole backup opens with the new password', async () => {
      await te.emu.find(udid).runtime?.mutate('modify', 3);
      const r = await backup2(te, udid, ['backup', root]);
      assert.match(r.stdout, /Backup Successful/, r.stdout);
      const received = Number(/Received (\d+) files/.exec(r.stdout)?.[1]);
      assert.ok(received < 20, `incremental: ${received} files received`);
      const { differences } = await compareWithBackup(contentOf(te, udid), dir, {
        password: 'NEW',
        includeEncryptedOnly: true,
      });
      assert.deepEqual(differences, []);
      assertOnlyPartialFiles((await verifyBackup(dir, { password: 'NEW', decrypt: true })).problems);
    });

    await t.test('encryption off', async () => {
      const r = await backup2(te, udid, ['encryption', 'off', 'NEW', root]);
      assert.match(r.stdout, /Backup encryption has been disabled successfully/, r.stdout);
      assert.equal(await willEncrypt(te, udid), 'false');
    });
  });

  test('the passcode prompt of iOS 16.1+: never entered ends with 208, entered later succeeds', async (t) => {
    if (!requireTools(t, BACKUP_TOOLS)) return;
    const behaviour = { ...FAST_PROFILE.behaviour, passcode: { mode: 'never' as const }, passcodeTimeoutSeconds: 2 };
    const te = await startTestEmulator({ profile: { ...FAST_PROFILE, behaviour }, timeScale: 1 });
    const work = await mkdtemp(join(tmpdir(), 'ibackup-passcode-'));
    t.after(async () => {
      await te.dispose();
      await rm(work, { recursive: true, force: true });
    });
    const udid = te.udids[0] as string;
    await pairWithTool(te, udid);
    const posted: string[] = [];
    te.emu.find(udid).runtime?.bus.on('post', (n) => posted.push(n));

    await t.test('never: the backup ends with 208 "Device locked" after the timeout', async () => {
      const r = await backup2(te, udid, ['backup', work]);
      assert.match(r.stdout, /ErrorCode 208: Device locked/, r.stdout);
      assert.match(r.stdout, /Backup Failed \(Error Code 208\)/, r.stdout);
      assert.ok(r.ms < 10_000, `ended after ${r.ms} ms`);
      assert.deepEqual(
        posted.filter((n) => n.includes('LocalAuthentication')),
        [PROMPT_PRESENTED, PROMPT_DISMISSED],
      );
    });

    await t.test('after 1 (set through ctl): the password change waits for the passcode and succeeds', async () => {
      await te.emu.control({ Action: 'passcode', UDID: udid, Mode: 'after', Seconds: 1 });
      const r = await backup2(te, udid, ['encryption', 'on', 'PW', work]);
      assert.match(r.stdout, /Backup encryption has been enabled successfully/, r.stdout);
      assert.ok(r.ms >= 1_000, `took ${r.ms} ms`);
    });
  });
});
