// ibackup's restore hands the iPhone the backup's app list before the Restore request, as
// idevicebackup2 does: /iTunesRestore/RestoreApplications.plist, the XML of Info.plist's
// "Applications", written through AFC; left out with skipApps, removed when the restore fails.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { openHost } from '../../src/app/context.js';
import { pairDevice } from '../../src/app/pair.js';
import { restoreDevice } from '../../src/app/restore.js';
import { selectDevice } from '../../src/app/select-device.js';
import { readInfoPlist } from '../../src/backup/info-plist.js';
import type { DeviceRuntime } from '../../src/emulator/device-services.js';
import { Emulator } from '../../src/emulator/emulator.js';
import { hasCode } from '../../src/errors.js';
import type { HostDevice } from '../../src/host/device.js';
import { isPlistDict, parsePlist, type PlistDict } from '../../src/protocol/plist/index.js';

const APPS_FILE = '/iTunesRestore/RestoreApplications.plist';

describe('RestoreApplications.plist', () => {
  let dir: string;
  let emu: Emulator;
  let device: HostDevice;
  let runtime: DeviceRuntime;
  let backupDir: string;
  let apps: PlistDict;
  /** What happened on the phone, in order: "apps" for each write of the file, "run" for each request. */
  let timeline: string[] = [];
  let written: Buffer[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ibackup-restore-apps-'));
    emu = await Emulator.start({
      stateDir: join(dir, 'state'),
      profile: 'tiny',
      ios: '14.8',
      listen: { kind: 'unix', path: join(dir, 'mux.sock') },
    });
    device = await selectDevice(openHost({ usbmuxd: emu.socketAddress, ownDir: join(dir, 'own'), systemDirs: [] }));
    await pairDevice(device);
    backupDir = (await backupDevice(device, { root: join(dir, 'backups') })).path;
    const listed = (await readInfoPlist(backupDir)).raw.Applications;
    assert.ok(isPlistDict(listed) && Object.keys(listed).length > 0, 'the backup lists apps');
    apps = listed;
    const found = emu.devices()[0]?.runtime;
    assert.ok(found);
    runtime = found;
    const write = runtime.afc.write.bind(runtime.afc);
    runtime.afc.write = (path, offset, data) => {
      if (path === APPS_FILE) {
        timeline.push('apps');
        written.push(Buffer.from(data));
      }
      return write(path, offset, data);
    };
    const add = runtime.runs.add.bind(runtime.runs);
    runtime.runs.add = (c) => {
      timeline.push('run');
      return add(c);
    };
  });

  after(async () => {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function reset(): void {
    timeline = [];
    written = [];
    runtime.afc.remove(APPS_FILE);
    runtime.afc.remove('/iTunesRestore');
  }

  test('written through AFC before the Restore request: the XML of Info.plist "Applications"', async () => {
    reset();
    await restoreDevice(device, { backupDir, noReboot: true });
    assert.deepEqual(timeline, ['apps', 'run']);
    const text = Buffer.concat(written);
    assert.match(text.toString('utf8'), /^<\?xml /, 'XML, as idevicebackup2 writes it');
    assert.deepEqual(parsePlist(text), apps);
  });

  test('skipApps leaves it out', async () => {
    reset();
    await restoreDevice(device, { backupDir, noReboot: true, skipApps: true });
    assert.deepEqual(timeline, ['run']);
    assert.equal(runtime.afc.stat(APPS_FILE), undefined);
  });

  test('a restore that fails removes it and its folder again', async () => {
    reset();
    const stop = new AbortController();
    runtime.runs.add = ((add) => (c: AbortController) => {
      timeline.push('run');
      setImmediate(() => stop.abort());
      return add(c);
    })(Set.prototype.add.bind(runtime.runs));
    await assert.rejects(restoreDevice(device, { backupDir, noReboot: true, signal: stop.signal }), (e: unknown) =>
      hasCode(e, 'CANCELLED'),
    );
    assert.deepEqual(timeline, ['apps', 'run']);
    assert.equal(runtime.afc.stat(APPS_FILE), undefined);
    assert.equal(runtime.afc.stat('/iTunesRestore'), undefined);
  });
});
