/**
 * Restoring the virtual iPhone with libimobiledevice's idevicebackup2: an encrypted backup brought
 * back after the device changed (system files too, items not in the backup removed, then the
 * reboot: Detached, Attached again with the restored content), a wrong password refused with 207,
 * and a plain backup whose blob was changed on disk — the device ends up with the changed bytes,
 * because it applies exactly what the computer streams.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBackup } from '../../src/backup/open.js';
import { BACKUP_TOOLS, backup2 } from '../support/idevicebackup2.js';
import { FAST_PROFILE, startTestEmulator } from '../support/test-emulator.js';
import { compareWithBackup, contentOf } from '../support/backup-vs-device.js';
import { pairWithTool, requireTools } from '../support/interop-tools.js';
import { waitFor } from '../support/wait.js';

describe('idevicebackup2 restore onto the virtual iPhone', { concurrency: true }, () => {
  test('an encrypted backup is restored after changes, then the device reboots', async (t) => {
    if (!requireTools(t, BACKUP_TOOLS)) return;
    const te = await startTestEmulator({ profile: FAST_PROFILE });
    const root = await mkdtemp(join(tmpdir(), 'ibackup-restore-'));
    t.after(async () => {
      await te.dispose();
      await rm(root, { recursive: true, force: true });
    });
    const udid = te.udids[0] as string;
    const dir = join(root, udid);
    await pairWithTool(te, udid);

    assert.match((await backup2(te, udid, ['encryption', 'on', 'PW', root])).stdout, /enabled successfully/);
    const b = await backup2(te, udid, ['backup', root]);
    assert.match(b.stdout, /Backup Successful/, b.stdout);

    const runtime = te.emu.find(udid).runtime;
    assert.ok(runtime);
    let changed = 0;
    for (const action of ['add', 'modify', 'delete', 'photos', 'messages'] as const) {
      const s = await runtime.mutate(action, 3);
      changed += s.added.length + s.modified.length + s.deleted.length;
    }
    assert.ok(changed >= 10);
    const before = await compareWithBackup(contentOf(te, udid), dir, { password: 'PW', includeEncryptedOnly: true });
    assert.ok(before.differences.length >= 10, `the device differs from the backup: ${before.differences.length}`);

    await t.test('a wrong password is refused with 207 and nothing changes', async () => {
      const r = await backup2(te, udid, ['restore', '--system', '--remove', '--password', 'WRONG', root]);
      assert.match(r.stdout, /ErrorCode 207: Invalid password/, r.stdout);
      assert.match(r.stdout, /Restore Failed \(Error Code 207\)/, r.stdout);
      const now = await compareWithBackup(contentOf(te, udid), dir, { password: 'PW', includeEncryptedOnly: true });
      assert.deepEqual(now.differences, before.differences);
    });

    await t.test('restore --system --remove brings the device back to the backup, then it reboots', async () => {
      const events: string[] = [];
      const stop = te.emu.subscribe((e) => events.push(e.type));
      t.after(stop);
      const old = te.emu.find(udid);
      const r = await backup2(te, udid, ['restore', '--system', '--remove', '--password', 'PW', root]);
      assert.match(r.stdout, /The device should reboot now/, r.stdout);
      assert.match(r.stdout, /Restore Successful/, r.stdout);
      await waitFor(
        () => te.emu.devices().some((d) => d.udid === udid && d !== old),
        10_000,
        'the device to come back after its reboot',
      );
      assert.deepEqual(events, ['detached', 'attached']);
      const { differences, files } = await compareWithBackup(contentOf(te, udid), dir, {
        password: 'PW',
        includeEncryptedOnly: true,
      });
      assert.deepEqual(differences, []);
      assert.ok(files > 50);
      // The restored content survives a restart of the emulator (kept in the state folder).
      await te.restart();
      const again = await compareWithBackup(contentOf(te, udid), dir, { password: 'PW', includeEncryptedOnly: true });
      assert.deepEqual(again.differences, []);
    });
  });

  test('a plain backup changed on disk: the device gets the changed bytes', async (t) => {
    if (!requireTools(t, BACKUP_TOOLS)) return;
    const te = await startTestEmulator({ profile: FAST_PROFILE });
    const root = await mkdtemp(join(tmpdir(), 'ibackup-restore-plain-'));
    t.after(async () => {
      await te.dispose();
      await rm(root, { recursive: true, force: true });
    });
    const udid = te.udids[0] as string;
    const dir = join(root, udid);
    await mkdir(root, { recursive: true });
    await pairWithTool(te, udid);
    const b = await backup2(te, udid, ['backup', root]);
    assert.match(b.stdout, /Backup Successful/, b.stdout);

    // Change the bytes of one user file in the backup folder (same length, so nothing else tells).
    const backup = await openBackup(dir);
    const row = [...backup.db.iterate({ domain: 'HomeDomain', flags: 1 })].find(
      (r) => Number(r.file?.size ?? 0) >= 64 && r.blobPath,
    );
    backup.close();
    assert.ok(row?.blobPath, 'a HomeDomain file with a blob');
    const original = await readFile(row.blobPath);
    const tampered = Buffer.from(original);
    tampered.write('CHANGED ON THE COMPUTER', 16, 'latin1');
    await writeFile(row.blobPath, tampered);
    const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

    const events: string[] = [];
    const stop = te.emu.subscribe((e) => events.push(e.type));
    t.after(stop);
    const r = await backup2(te, udid, ['restore', '--no-reboot', '--remove', root]);
    assert.match(r.stdout, /Restore Successful/, r.stdout);
    assert.doesNotMatch(r.stdout, /should reboot/);

    const content = contentOf(te, udid);
    const entry = content.get(row.domain, row.relativePath);
    assert.ok(entry);
    const parts: Uint8Array[] = [];
    for await (const c of content.openContent(entry)) parts.push(c);
    assert.equal(sha1(Buffer.concat(parts)), sha1(tampered));
    assert.notEqual(sha1(tampered), sha1(original));
    const { differences } = await compareWithBackup(content, dir, {
      includeEncryptedOnly: false,
      domain: (d) => d.startsWith('AppDomain') || d === 'HomeDomain' || d === 'CameraRollDomain' || d === 'MediaDomain',
    });
    assert.deepEqual(differences, []);
    await new Promise((res) => setTimeout(res, 600));
    assert.deepEqual(events, [], 'no reboot with --no-reboot');
  });
});
