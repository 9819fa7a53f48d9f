import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deviceInfo } from '../../src/app/info.js';
import { runDoctor, type DoctorCheck } from '../../src/app/doctor.js';
import { openHost } from '../../src/app/context.js';
import { pairDevice } from '../../src/app/pair.js';
import { selectDevice } from '../../src/app/select-device.js';
import { json, runCli, startBench, type ErrorDoc } from '../support/bench.js';

/** A Status.plist written by hand (XML), as a device leaves it after a backup. */
function statusPlist(date: string, state = 'finished'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>BackupState</key><string>new</string>
	<key>Date</key><date>${date}</date>
	<key>IsFullBackup</key><false/>
	<key>SnapshotState</key><string>${state}</string>
	<key>UUID</key><string>1A2B3C4D-0000-4000-8000-000000000001</string>
	<key>Version</key><string>3.3</string>
</dict>
</plist>
`;
}

const EMPTY_DICT =
  '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>IsEncrypted</key><false/></dict></plist>\n';

/** The top level of a finished backup folder, as `list` recognises one (contents not needed here). */
async function fakeBackup(dir: string, date: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'Status.plist'), statusPlist(date));
  await writeFile(join(dir, 'Manifest.plist'), EMPTY_DICT);
  await writeFile(join(dir, 'Manifest.db'), 'SQLite format 3\0');
}

interface InfoDoc {
  udid: string;
  name: string;
  model: string;
  productType: string;
  iosVersion: string;
  serial: string;
  capacityBytes: number;
  usedBytes: number;
  encryption: boolean;
  lastBackup: string | null;
}

describe('ibackup info', () => {
  test('CLI.md shape; capacity and used from disk_usage; encryption; last backup from Status.plist', async () => {
    const b = await startBench();
    const udid = b.te.udids[0]!;
    try {
      const unpaired = await b.cli(['--json', 'info']);
      assert.equal(unpaired.code, 1);
      assert.equal(json<ErrorDoc>(unpaired.stdout).error.code, 'NOT_PAIRED');

      assert.equal((await b.cli(['pair'])).code, 0);
      const r = await b.cli(['--json', 'info']);
      assert.equal(r.code, 0, r.stderr);
      const doc = json<InfoDoc>(r.stdout);
      const phone = b.te.emu.find(udid);
      const id = phone.profile.identity;
      assert.deepEqual(
        { ...doc, lastBackup: doc.lastBackup },
        {
          ...doc,
          udid,
          name: phone.deviceName,
          model: 'iPhone 14 Pro',
          productType: id.productType,
          iosVersion: id.productVersion,
          serial: id.serialNumber,
          capacityBytes: id.totalCapacityBytes,
          usedBytes: id.usedBytes,
          encryption: false,
          lastBackup: null,
        },
      );
      // The photo library, read over AFC like `photos status` (iCloud Photos off on this phone).
      const photos = (doc as InfoDoc & { photos?: { icloudPhotos: string; library: { photos: number } } }).photos;
      assert.equal(photos?.icloudPhotos, 'off');
      assert.ok((photos?.library.photos ?? 0) > 0);
      for (const k of [
        'udid',
        'name',
        'model',
        'productType',
        'iosVersion',
        'serial',
        'capacityBytes',
        'usedBytes',
        'encryption',
        'lastBackup',
      ]) {
        assert.ok(k in doc, `missing ${k}`);
      }

      // A complete backup under the backup dir: its Status.plist Date is the Last Backup.
      await fakeBackup(join(b.backupDir, udid), '2026-02-17T14:30:00Z');
      const withBackup = json<InfoDoc>((await b.cli(['--json', 'info'])).stdout);
      assert.equal(withBackup.lastBackup, '2026-02-17T14:30:00.000Z');
      // An archived copy counts too; the newest complete one wins.
      await fakeBackup(join(b.backupDir, `${udid}-20260301-120000`), '2026-03-01T12:00:00Z');
      const archived = json<InfoDoc>((await b.cli(['--json', 'info'])).stdout);
      assert.equal(archived.lastBackup, '2026-03-01T12:00:00.000Z');
      await rm(join(b.backupDir, `${udid}-20260301-120000`), { recursive: true });
      // --backup-dir wins over IBACKUP_BACKUP_DIR.
      const elsewhere = json<InfoDoc>(
        (await b.cli(['--json', '--backup-dir', join(b.backupDir, 'none'), 'info'])).stdout,
      );
      assert.equal(elsewhere.lastBackup, null);
      // An interrupted backup is not a Last Backup.
      await writeFile(join(b.backupDir, udid, 'Status.plist'), statusPlist('2026-03-01T10:00:00Z', 'uploading'));
      const interrupted = await deviceInfo(await selectDevice(b.ctx), { backupRoots: [b.backupDir] });
      assert.equal(interrupted.lastBackup, null);

      const text = await b.cli(['info']);
      assert.equal(text.code, 0);
      for (const label of [
        'Name:',
        'Model:',
        'iOS:',
        'Serial Number:',
        'Capacity:',
        'Encrypt local backup:',
        'Last Backup:',
      ]) {
        assert.ok(text.stdout.includes(label), `${label} in ${text.stdout}`);
      }
      assert.match(text.stdout, /iPhone 14 Pro \(iPhone15,2\)/);
    } finally {
      await b.dispose();
    }
  });

  test('encryption follows WillEncrypt', async () => {
    const b = await startBench();
    try {
      const device = await selectDevice(b.ctx);
      await pairDevice(device);
      assert.equal((await deviceInfo(device, { backupRoots: [b.backupDir] })).encryption, false);
      await b.te.emu.find(device.udid).state.updateSettings({ backupPassword: 'secret' });
      assert.equal((await deviceInfo(device, { backupRoots: [b.backupDir] })).encryption, true);
    } finally {
      await b.dispose();
    }
  });
});

const byId = (checks: DoctorCheck[], id: string): DoctorCheck[] => checks.filter((c) => c.id === id);

describe('ibackup doctor', () => {
  test("no device: usbmuxd ok, device check fails with the seed's hints, exit 1", async () => {
    const b = await startBench({ devices: 0 });
    try {
      const r = await b.cli(['--json', 'doctor']);
      assert.equal(r.code, 1);
      const { checks } = json<{ checks: DoctorCheck[] }>(r.stdout);
      assert.equal(byId(checks, 'usbmuxd')[0]?.ok, true);
      const dev = byId(checks, 'device')[0]!;
      assert.equal(dev.ok, false);
      assert.match(dev.message, /No iPhone is connected/);
      assert.match(dev.remedy, /not through a hub/);
      assert.equal(byId(checks, 'disk-space')[0]?.ok, true);
      for (const c of checks) assert.deepEqual(Object.keys(c).slice(0, 4), ['id', 'ok', 'message', 'remedy']);
      const text = await b.cli(['doctor']);
      assert.equal(text.code, 1);
      assert.match(text.stdout, /✖ device: No iPhone is connected/);
    } finally {
      await b.dispose();
    }
  });

  test('unpaired fails "paired"; after pairing every check passes (exit 0)', async () => {
    const b = await startBench();
    try {
      const before = await b.cli(['--json', 'doctor']);
      assert.equal(before.code, 1);
      const paired = byId(json<{ checks: DoctorCheck[] }>(before.stdout).checks, 'paired')[0]!;
      assert.equal(paired.ok, false);
      assert.match(paired.remedy, /ibackup pair/);
      assert.equal((await b.cli(['pair'])).code, 0);
      const after = await b.cli(['--json', 'doctor']);
      assert.equal(after.code, 0, after.stdout);
      const doc = json<{ checks: DoctorCheck[] }>(after.stdout);
      assert.deepEqual(
        doc.checks.map((c) => c.id),
        ['usbmuxd', 'device', 'paired', 'trusted', 'disk-space', 'photos'],
      );
      assert.ok(doc.checks.every((c) => c.ok));
      // iCloud Photos is off on this phone: the library is counted, with no warning.
      const photos = byId(doc.checks, 'photos')[0]!;
      assert.match(photos.message, /^Photo library: \d+ photos and \d+ videos; iCloud Photos off/);
      assert.equal(photos.warning, undefined);
      // The phone forgot this computer: "trusted" fails and says to pair again.
      const phone = b.te.emu.find(b.te.udids[0]!);
      for (const p of phone.state.pairings()) await phone.unpair(p.hostId);
      const forgot = await b.cli(['--json', 'doctor']);
      assert.equal(forgot.code, 1);
      const trusted = byId(json<{ checks: DoctorCheck[] }>(forgot.stdout).checks, 'trusted')[0]!;
      assert.equal(trusted.ok, false);
      assert.match(trusted.remedy, /ibackup pair/);
    } finally {
      await b.dispose();
    }
  });

  test('disk space: the same rule as Back Up Now — less free than the phone uses is a warning, only a disk below the floor fails', async () => {
    const b = await startBench();
    try {
      const udid = b.te.udids[0]!;
      await pairDevice(await selectDevice(b.ctx));
      const used = b.te.emu.find(udid).profile.identity.usedBytes;
      const short = await runDoctor(b.ctx, {
        backupRoots: [b.backupDir],
        freeBytes: async () => Math.floor(used / 10),
      });
      const warn = byId(short.checks, 'disk-space')[0]!;
      assert.equal(warn.ok, true, 'a backup is usually far smaller than the used space: not refused');
      assert.equal(warn.warning, true);
      assert.match(warn.message, /A backup is usually much smaller/);
      const tiny = await runDoctor(b.ctx, { backupRoots: [b.backupDir], freeBytes: async () => 10_000_000 });
      const fails = byId(tiny.checks, 'disk-space')[0]!;
      assert.equal(fails.ok, false);
      assert.equal(tiny.ok, false);
      assert.match(fails.message, /first backup.*no backup fits in less than 32\.0 MB/);
      await fakeBackup(join(b.backupDir, udid), '2026-01-01T00:00:00Z');
      const later = await runDoctor(b.ctx, { backupRoots: [b.backupDir], freeBytes: async () => 10_000_000 });
      const small = byId(later.checks, 'disk-space')[0]!;
      assert.equal(small.ok, true);
      assert.equal(small.warning, true);
      assert.match(small.message, /enough for a small incremental backup, not for a full one/);
      const plenty = await runDoctor(b.ctx, { backupRoots: [b.backupDir], freeBytes: async () => used * 2 });
      assert.equal(byId(plenty.checks, 'disk-space')[0]?.warning, undefined);
    } finally {
      await b.dispose();
    }
  });

  test('usbmuxd unreachable: says how to install or start it on this OS', async () => {
    const ctx = openHost({
      usbmuxd: 'UNIX:/nonexistent/ibackup-test/usbmuxd',
      systemDirs: [],
      ownDir: '/nonexistent/own',
    });
    const debian = await runDoctor(ctx, {
      backupRoots: ['/tmp'],
      platform: 'linux',
      osRelease: 'ID=debian\n',
      usbmuxdInstalled: false,
    });
    const mux = byId(debian.checks, 'usbmuxd')[0]!;
    assert.equal(mux.ok, false);
    assert.match(mux.remedy, /sudo apt install usbmuxd/);
    assert.match(mux.remedy, /sudo systemctl start usbmuxd/);
    assert.match(mux.remedy, /sudo usbmuxd -f/);
    assert.deepEqual(
      debian.checks.map((c) => c.id),
      ['usbmuxd', 'disk-space'],
    );
    const installed = await runDoctor(ctx, {
      backupRoots: ['/tmp'],
      platform: 'linux',
      osRelease: 'ID=fedora\n',
      usbmuxdInstalled: true,
    });
    assert.match(byId(installed.checks, 'usbmuxd')[0]!.message, /installed but not running/);
    const custom = await runDoctor(ctx, { backupRoots: ['/tmp'], customAddress: true });
    assert.match(byId(custom.checks, 'usbmuxd')[0]!.message, /Nothing answers at/);

    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: '/nonexistent/cfg' };
    delete env.USBMUXD_SOCKET_ADDRESS;
    const r = await runCli(['--json', '--usbmuxd', 'UNIX:/nonexistent/ibackup-test/usbmuxd', 'doctor'], env);
    assert.equal(r.code, 1);
    assert.equal(byId(json<{ checks: DoctorCheck[] }>(r.stdout).checks, 'usbmuxd')[0]?.ok, false);
    const d = await runCli(['--json', '--usbmuxd', 'UNIX:/nonexistent/ibackup-test/usbmuxd', 'devices'], env);
    assert.equal(d.code, 1);
    assert.equal(json<ErrorDoc>(d.stdout).error.code, 'USBMUXD_UNREACHABLE');
  });
});
