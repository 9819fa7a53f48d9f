// The virtual iPhone's small services, driven by ibackup's own host clients: notification_proxy,
// AFC (sync lock, /DCIM, file info), installation_proxy and springboard.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { openHost } from '../../src/app/context.js';
import { pairDevice } from '../../src/app/pair.js';
import { selectDevice } from '../../src/app/select-device.js';
import { Emulator } from '../../src/emulator/emulator.js';
import type { HostDevice } from '../../src/host/device.js';
import { AFC_SERVICE, AfcClient, SYNC_LOCK_FILE } from '../../src/host/services/afc.js';
import { INSTALLATION_PROXY_SERVICE, browseUserApps } from '../../src/host/services/installation-proxy.js';
import { NP_SERVICE, NotificationProxyClient } from '../../src/host/services/notification-proxy.js';

describe('virtual iPhone services through ibackup clients', () => {
  let dir: string;
  let emu: Emulator;
  let device: HostDevice;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ibackup-services-'));
    emu = await Emulator.start({
      stateDir: join(dir, 'state'),
      profile: 'tiny',
      listen: { kind: 'unix', path: join(dir, 'mux.sock') },
    });
    const ctx = openHost({ usbmuxd: emu.socketAddress, ownDir: join(dir, 'own'), systemDirs: [] });
    device = await selectDevice(ctx);
    await pairDevice(device);
  });

  after(async () => {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('notification_proxy relays what is observed, not the rest, and answers Shutdown with ProxyDeath', async () => {
    const watcher = new NotificationProxyClient(await device.startService(NP_SERVICE));
    const seen: string[] = [];
    watcher.on('notification', (n) => seen.push(n));
    await watcher.observe('com.example.one');
    const poster = new NotificationProxyClient(await device.startService(NP_SERVICE));
    await poster.post('com.example.two');
    await poster.post('com.example.one');
    const t0 = Date.now();
    while (seen.length === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['com.example.one']);
    const closing = Date.now();
    await poster.close(5000);
    await watcher.close(5000);
    assert.ok(Date.now() - closing < 4000, 'ProxyDeath came back, no wait for the timeout');
  });

  test('AFC: the sync lock is exclusive between connections, and released on unlock', async () => {
    const a = new AfcClient(await device.startService(AFC_SERVICE));
    const b = new AfcClient(await device.startService(AFC_SERVICE));
    try {
      const ha = await a.open(SYNC_LOCK_FILE, 2);
      const hb = await b.open(SYNC_LOCK_FILE, 2);
      assert.equal(await a.lock(ha, 2 | 4), true);
      assert.equal(await b.lock(hb, 2 | 4), false, 'a second computer would block');
      assert.equal(await a.lock(ha, 8 | 4), true);
      assert.equal(await b.lock(hb, 2 | 4), true);
      await a.close(ha);
      await b.close(hb);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  test('AFC: missing iTunes files say so; /DCIM photos read back as real JPEGs', async () => {
    const afc = new AfcClient(await device.startService(AFC_SERVICE));
    try {
      assert.equal(await afc.info('/iTunes_Control/iTunes/IC-Info.sidb'), null);
      const dcim = await afc.info('/DCIM');
      assert.equal(dcim?.st_ifmt, 'S_IFDIR');
      const photo = emu.devices()[0]?.runtime?.content.under('CameraRollDomain', 'Media/DCIM/').next().value;
      assert.ok(photo, 'the tiny profile has photos');
      let path = photo.relativePath;
      for (const e of emu.devices()[0]?.runtime?.content.under('CameraRollDomain', 'Media/DCIM/') ?? []) {
        if (e.kind === 'file' && e.relativePath.endsWith('.JPG')) {
          path = e.relativePath;
          break;
        }
      }
      const bytes = await afc.readFile(`/${path.slice('Media/'.length)}`);
      assert.ok(bytes && bytes.length > 100);
      const img = jpeg.decode(bytes, { useTArray: true });
      assert.ok(img.width > 0 && img.height > 0);
    } finally {
      afc.disconnect();
    }
  });

  test('installation_proxy Browse lists the user apps and ends with Complete', async () => {
    const apps = await browseUserApps(await device.startService(INSTALLATION_PROXY_SERVICE), 10_000);
    assert.ok(apps.length >= 1);
    for (const a of apps) {
      assert.equal(typeof a.CFBundleIdentifier, 'string');
      assert.ok(a.ApplicationSINF instanceof Uint8Array);
      assert.ok(a.iTunesMetadata instanceof Uint8Array);
    }
  });

  test('an unknown service is refused by lockdown with InvalidService', async () => {
    await assert.rejects(
      device.startService('com.example.nothing'),
      (e: unknown) => (e as { code?: string }).code === 'SERVICE_UNAVAILABLE',
    );
  });
});
