// ibackup's host against virtual iPhones of several iOS generations: which services start with
// TLS (and the host following each reply), the iOS 9 phone's TLS 1.0 session, the sync lock file
// a fresh phone does not have, a lock file that cannot be opened, and the used space it reports.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHost } from '../../src/app/context.js';
import { pairDevice } from '../../src/app/pair.js';
import { selectDevice } from '../../src/app/select-device.js';
import { openSyncSession } from '../../src/host/sync-session.js';
import { Emulator } from '../../src/emulator/emulator.js';
import type { ProfileOverrides } from '../../src/emulator/profile.js';
import type { HostDevice } from '../../src/host/device.js';
import { AFC_SERVICE, AfcClient, SYNC_LOCK_FILE } from '../../src/host/services/afc.js';
import { NP_SERVICE, NotificationProxyClient, Notifications } from '../../src/host/services/notification-proxy.js';
import { isPlistDict } from '../../src/protocol/plist/index.js';

const SERVICES = { np: NP_SERVICE, afc: AFC_SERVICE, mb2: 'com.apple.mobilebackup2' } as const;

interface Phone {
  emu: Emulator;
  device: HostDevice;
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function phone(ios: string, profile: string | ProfileOverrides = 'tiny'): Promise<Phone> {
  const dir = mkdtempSync(join(tmpdir(), `ibackup-gen-${ios}-`));
  dirs.push(dir);
  const emu = await Emulator.start({
    stateDir: join(dir, 'state'),
    profile,
    ios,
    listen: { kind: 'unix', path: join(dir, 'mux.sock') },
  });
  const device = await selectDevice(openHost({ usbmuxd: emu.socketAddress, ownDir: join(dir, 'own'), systemDirs: [] }));
  await pairDevice(device);
  return { emu, device };
}

/** EnableServiceSSL of each StartService reply, as the phone answers it. */
async function serviceSsl(device: HostDevice): Promise<Record<keyof typeof SERVICES, boolean>> {
  return device.withSession(async (lockdown, record) => ({
    np: (await lockdown.startService(SERVICES.np)).ssl,
    afc: (await lockdown.startService(SERVICES.afc)).ssl,
    mb2: (await lockdown.startService(SERVICES.mb2, record.EscrowBag)).ssl,
  }));
}

/** The host uses notification_proxy and AFC the way the reply told it to. */
async function useServices(device: HostDevice): Promise<void> {
  const np = new NotificationProxyClient(await device.startService(NP_SERVICE));
  await np.post('com.example.generations');
  await np.close(5000);
  const afc = new AfcClient(await device.startService(AFC_SERVICE));
  try {
    assert.equal((await afc.info('/Books'))?.st_ifmt, 'S_IFDIR');
  } finally {
    afc.disconnect();
  }
}

describe('service TLS per iOS generation, and the host following each reply', () => {
  const expected: Array<[string, Record<keyof typeof SERVICES, boolean>]> = [
    ['9.3', { np: false, afc: false, mb2: false }],
    ['12.0', { np: false, afc: false, mb2: false }],
    ['12.5.7', { np: true, afc: false, mb2: true }],
    ['17.5', { np: true, afc: false, mb2: true }],
  ];
  for (const [ios, ssl] of expected) {
    test(`iOS ${ios}`, async () => {
      const p = await phone(ios);
      try {
        assert.deepEqual(await serviceSsl(p.device), ssl);
        await useServices(p.device);
        // Session after session on one lockdown connection: plaintext between them.
        const lockdown = await p.device.lockdown();
        try {
          for (let i = 0; i < 2; i++) {
            await lockdown.startSession(await p.device.pairRecord());
            assert.equal(await lockdown.getValue(undefined, 'ProductVersion'), ios);
            await lockdown.stopSession();
            assert.equal(await lockdown.queryType(), 'com.apple.mobile.lockdown');
          }
        } finally {
          lockdown.close();
        }
      } finally {
        await p.emu.close();
      }
    });
  }

  test('service TLS on an iOS 9.3 phone when a profile asks: the TLS 1.0 engine on a service socket', async () => {
    const p = await phone('9.3', {
      extends: 'tiny',
      behaviour: { serviceTls: { afc: true, notificationProxy: true } },
    });
    try {
      assert.deepEqual(await serviceSsl(p.device), { np: true, afc: true, mb2: false });
      await useServices(p.device);
    } finally {
      await p.emu.close();
    }
  });

  test('a profile still decides per service: AFC over TLS on iOS 17.5', async () => {
    const p = await phone('17.5', {
      extends: 'tiny',
      behaviour: { serviceTls: { afc: true, notificationProxy: false } },
    });
    try {
      assert.deepEqual(await serviceSsl(p.device), { np: false, afc: true, mb2: true });
      await useServices(p.device);
    } finally {
      await p.emu.close();
    }
  });
});

describe('the sync lock file', () => {
  test('a phone that never synced has none; the host creates it by opening it, and locks it', async () => {
    const p = await phone('17.5');
    try {
      const afc = new AfcClient(await p.device.startService(AFC_SERVICE));
      assert.equal(await afc.info(SYNC_LOCK_FILE), null);
      const sync = await openSyncSession(p.device);
      await sync.lock();
      assert.deepEqual(sync.warnings, []);
      assert.equal((await afc.info(SYNC_LOCK_FILE))?.st_ifmt, 'S_IFREG');
      await sync.close();
      afc.disconnect();
    } finally {
      await p.emu.close();
    }
  });

  test('a lock file the phone will not open: the host goes on without the lock and warns', async () => {
    const p = await phone('17.5');
    try {
      const runtime = p.emu.devices()[0]?.runtime;
      assert.ok(runtime);
      runtime.afc.mkdirs(SYNC_LOCK_FILE); // a folder where the file should be: FileOpen fails
      const seen: string[] = [];
      const watcher = new NotificationProxyClient(await p.device.startService(NP_SERVICE));
      watcher.on('notification', (n) => seen.push(n));
      await watcher.observe(Notifications.syncWillStart, Notifications.syncLockRequest, Notifications.syncDidStart);
      const warned: string[] = [];
      const sync = await openSyncSession(p.device, undefined, { onWarning: (m) => warned.push(m) });
      await sync.lock();
      assert.equal(sync.warnings.length, 1);
      assert.deepEqual(warned, sync.warnings);
      assert.match(sync.warnings[0] ?? '', /could not be opened \(AFC: ObjectIsDir\); going on without it/);
      await new Promise((r) => setTimeout(r, 200));
      // As idevicebackup2: syncWillStart, but no lock request and no "did start" without a lock.
      assert.deepEqual(seen, [Notifications.syncWillStart]);
      await sync.close();
      await watcher.close(5000);
    } finally {
      await p.emu.close();
    }
  });
});

test('used space is several times what a backup holds (apps, caches, iCloud Photos are not in it)', async () => {
  const p = await phone('17.5');
  try {
    const { identity, content } = p.emu.devices()[0]?.profile ?? assert.fail('no device');
    assert.ok(identity.usedBytes >= 12e9 + 4 * content.bytes, `${identity.usedBytes}`);
    const disk = await p.device.withSession((l) => l.getDomain('com.apple.disk_usage'));
    const total = disk.TotalDiskCapacity;
    const available = disk.TotalDataAvailable;
    assert.ok(typeof total === 'number' && typeof available === 'number' && isPlistDict(disk));
    assert.equal(total - available, identity.usedBytes);
  } finally {
    await p.emu.close();
  }
});
