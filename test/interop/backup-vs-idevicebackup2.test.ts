/**
 * The same virtual iPhone backed up by ibackup and by libimobiledevice's idevicebackup2 into two
 * folders: both must hold the same Manifest.db rows and byte-identical files, first full, then
 * incremental after the phone's content changed. Read back with ibackup's independent reader.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { HostDevice } from '../../src/host/device.js';
import { startBench, type Bench, backupInto, pairedDevice } from '../support/bench.js';
import {
  assertFinished,
  assertInfoComplete,
  assertSameBackups,
  backupContents,
  readInfo,
} from '../support/backup-checks.js';
import { pairWithTool, requireTools } from '../support/interop-tools.js';

const TOOLS = ['idevicebackup2', 'idevicepair', 'ideviceinfo'] as const;
const PASSWORD = 'interop-pw';

async function toolBackup(b: Bench, udid: string, root: string, extra: string[] = []): Promise<string> {
  await mkdir(root, { recursive: true });
  const r = await b.te.tool('idevicebackup2', ['-u', udid, 'backup', ...extra, root]);
  assert.match(r.stdout, /Backup Successful/, `idevicebackup2 backup: ${r.stdout.slice(-600)}${r.stderr.slice(-600)}`);
  return join(root, udid);
}

/** Keys both clients write from the device's values (GUID, dates and iTunes Version are the host's own). */
const SHARED_INFO_KEYS = [
  'Build Version',
  'Device Name',
  'Display Name',
  'ICCID',
  'IMEI',
  'Installed Applications',
  'MEID',
  'Phone Number',
  'Product Type',
  'Product Version',
  'Serial Number',
  'Target Type',
  'Unique Identifier',
  'iTunes Files',
  'iTunes Settings',
  'Applications',
] as const;

describe('ibackup and idevicebackup2 back up the same phone identically', () => {
  test('full, then incremental after modify/add/delete: same rows, same bytes, finished, Info.plist complete', async (t) => {
    if (!requireTools(t, TOOLS)) return;
    // Few key-derivation rounds: the encrypted comparison unlocks each backup several times.
    const b = await startBench({ profile: { extends: 'tiny', behaviour: { keyDerivationIterations: 1_000 } } });
    try {
      const udid = b.te.udids[0] as string;
      await pairWithTool(b.te, udid);
      const device = await pairedDevice(b, udid);
      const ours = join(b.backupDir, 'ibackup');
      const theirs = join(b.backupDir, 'idevicebackup2');

      const first = await backupInto(device, ours);
      assert.equal(first.full, true);
      const theirDir = await toolBackup(b, udid, theirs);
      assert.equal(await assertFinished(first.path), true);
      assert.equal(await assertFinished(theirDir), true);
      await assertSameBackups(first.path, theirDir);
      const before = await backupContents(first.path);

      const info = await assertInfoComplete(first.path, b, udid);
      const theirInfo = await readInfo(theirDir);
      for (const k of SHARED_INFO_KEYS) assert.deepEqual(info[k], theirInfo[k], `Info.plist ${k}`);
      assert.equal(info['Product Name'], 'iPhone 14 Pro');

      const runtime = b.te.emu.find(udid).runtime;
      assert.ok(runtime);
      const changes = [
        await runtime.mutate('modify', 3),
        await runtime.mutate('add', 3),
        await runtime.mutate('delete', 3),
      ];
      const keyOf = (r: { domain: string; relativePath: string }): string => `${r.domain}/${r.relativePath}`;
      const added = changes.flatMap((c) => c.added.map(keyOf));
      const modified = changes.flatMap((c) => c.modified.map(keyOf)).filter((k) => before.get(k)?.flags === 1);
      const deleted = changes.flatMap((c) => c.deleted.map(keyOf));
      assert.ok(
        added.length >= 3 && modified.length >= 3 && deleted.length >= 3,
        JSON.stringify({ added, modified, deleted }),
      );

      const second = await backupInto(device, ours);
      assert.equal(second.full, false);
      assert.ok(second.filesReceived < first.filesReceived, `incremental received ${second.filesReceived} files`);
      await toolBackup(b, udid, theirs);
      assert.equal(await assertFinished(second.path), false);
      assert.equal(await assertFinished(theirDir), false);
      await assertSameBackups(second.path, theirDir);
      const after = await backupContents(second.path);
      for (const k of added) assert.ok(after.has(k) && !before.has(k), `added ${k}`);
      for (const k of deleted) assert.ok(before.has(k) && !after.has(k), `deleted ${k}`);
      for (const k of modified) assert.notEqual(after.get(k)?.sha256, before.get(k)?.sha256, `modified ${k}`);
      assert.equal(second.path, first.path);

      await encryptedComparison(t, b, udid, device);
    } finally {
      await b.dispose();
    }
  });
});

/** Encrypted backups compared the same way, once the virtual iPhone can encrypt. */
async function encryptedComparison(t: TestContext, b: Bench, udid: string, device: HostDevice): Promise<void> {
  const scratch = join(b.backupDir, 'encryption');
  await mkdir(scratch, { recursive: true });
  await b.te.tool('idevicebackup2', ['-u', udid, 'encryption', 'on', PASSWORD, scratch]);
  const will = await b.te.tool('ideviceinfo', ['-u', udid, '-q', 'com.apple.mobile.backup', '-k', 'WillEncrypt']);
  if (will.stdout.trim() !== 'true') {
    t.diagnostic('the virtual iPhone cannot turn on backup encryption yet: encrypted comparison not run');
    return;
  }
  const ours = await backupInto(device, join(b.backupDir, 'ibackup-encrypted'));
  assert.equal(ours.encrypted, true);
  const theirDir = await toolBackup(b, udid, join(b.backupDir, 'idevicebackup2-encrypted'));
  await assertFinished(ours.path, PASSWORD);
  await assertFinished(theirDir, PASSWORD);
  await assertSameBackups(ours.path, theirDir, PASSWORD);
  await assert.rejects(backupContents(ours.path), /PASSWORD_REQUIRED|password/i);
}
