/**
 * Apps come back after a restore when the host leaves /iTunesRestore/RestoreApplications.plist on
 * the phone: the virtual iPhone reads it once the restore succeeded, installs the apps it lists
 * (with their purchase data), removes the list, keeps the apps in its state folder, and lists
 * them through installation_proxy Browse — also after a restart. Without a list, no app is added.
 * The list here is put into the emulator's AFC file system by the test itself (the host's restore
 * is told to skip apps, so it writes none).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { restoreDevice } from '../../src/app/restore.js';
import { selectDevice } from '../../src/app/select-device.js';
import {
  REINSTALLED_APPS_FILE,
  RESTORE_APPLICATIONS_PATH,
} from '../../src/emulator/services/mobilebackup2/restore-apps.js';
import type { HostDevice } from '../../src/host/device.js';
import { INSTALLATION_PROXY_SERVICE, browseUserApps } from '../../src/host/services/installation-proxy.js';
import { serializeXmlPlist, type PlistDict } from '../../src/protocol/plist/index.js';
import { startBench, type Bench } from '../support/bench.js';
import { pairedHost, virtualDevice } from '../support/crash-safety.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A RestoreApplications.plist as idevicebackup2 writes it: Info.plist's Applications dict, in XML. */
function restoreApplications(): Uint8Array {
  const app = (sinf: string, name: string, version: string): PlistDict => ({
    ApplicationSINF: bytes(sinf),
    iTunesMetadata: serializeXmlPlist({ itemName: name, bundleShortVersionString: version }),
    PlaceholderIcon: bytes('\x89PNG icon'),
  });
  return serializeXmlPlist({
    'com.example.journal': app('sinf-journal', 'Journal', '2.3'),
    'com.spotify.client': app('sinf-spotify-store', 'Spotify', '9.0'),
    'com.example.nopurchase': { iTunesMetadata: serializeXmlPlist({ itemName: 'No purchase data' }) },
  });
}

async function browse(device: HostDevice): Promise<Map<string, PlistDict>> {
  const apps = await browseUserApps(await device.startService(INSTALLATION_PROXY_SERVICE));
  return new Map(apps.map((a) => [String(a.CFBundleIdentifier), a]));
}

async function restore(b: Bench, device: HostDevice, udid: string): Promise<void> {
  await restoreDevice(device, { backupDir: join(b.backupDir, udid), skipApps: true, noReboot: true });
}

describe('apps reinstalled after a restore', { timeout: 120_000 }, () => {
  test('from the RestoreApplications.plist a host left; none without one; kept across a restart', async () => {
    const b = await startBench();
    try {
      const udid = b.te.udids[0] as string;
      const host = await pairedHost(b, udid);
      await backupDevice(host, { root: b.backupDir });
      const before = await browse(host);
      assert.ok(before.has('com.spotify.client') && !before.has('com.example.journal'));

      await restore(b, host, udid);
      assert.deepEqual([...(await browse(host)).keys()].sort(), [...before.keys()].sort(), 'no list: no app added');

      const rt = virtualDevice(b, udid).runtime;
      assert.ok(rt);
      rt.afc.put(RESTORE_APPLICATIONS_PATH, restoreApplications());
      await restore(b, host, udid);
      const after = await browse(host);
      const journal = after.get('com.example.journal');
      assert.ok(journal, 'the listed app is installed');
      assert.deepEqual(journal.ApplicationSINF, bytes('sinf-journal'));
      assert.equal(after.has('com.example.nopurchase'), false, 'an entry without purchase data is not installed');
      assert.deepEqual(
        after.get('com.spotify.client')?.ApplicationSINF,
        bytes('sinf-spotify-store'),
        'an installed app is reinstalled from the store',
      );
      for (const id of before.keys()) assert.ok(after.has(id), `${id} is still installed`);
      assert.equal(rt.afc.stat(RESTORE_APPLICATIONS_PATH), undefined, 'the list is consumed');
      const stateDir = virtualDevice(b, udid).state.dir;
      assert.ok(existsSync(join(stateDir, REINSTALLED_APPS_FILE)), 'kept in the state folder');

      await b.te.restart();
      const again = await browse(await selectDevice(b.ctx, udid));
      assert.deepEqual(
        again.get('com.example.journal')?.ApplicationSINF,
        bytes('sinf-journal'),
        'still installed after a restart',
      );
    } finally {
      await b.dispose();
    }
  });
});
