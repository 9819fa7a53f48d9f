/**
 * The virtual iPhone's control actions for automatic and Wi-Fi backups, over its control channel
 * as `ibackup emulator ctl` sends them: `attach UDID` plugs back a phone unplugged earlier with its
 * state (it still trusts this computer, no new dialog), an unknown UDID is refused, and `wifi U
 * leave|join|silent` takes its Wi-Fi entry away, brings it back, and silences its link.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectDevice } from '../../src/app/select-device.js';
import { setWifi } from '../../src/app/wifi.js';
import { ctlRequest } from '../../src/cli/emulator.js';
import { sendControl } from '../../src/emulator/ctl-client.js';
import { hasCode } from '../../src/errors.js';
import { pairedDevice, startBench } from '../support/bench.js';
import { waitFor } from '../support/wait.js';

interface Summary {
  udid: string;
  pairedHosts: number;
  usb: boolean;
  wifiConnections: boolean;
  network: number | null;
}

describe('emulator ctl: attach UDID and wifi', () => {
  test('a phone unplugged and plugged back keeps its state; its Wi-Fi entry leaves, joins, goes silent', async () => {
    const b = await startBench();
    const udid = b.te.udids[0] as string;
    const ctl = (action: string, args: string[]): Promise<unknown> => sendControl(b.address, ctlRequest(action, args));
    try {
      await pairedDevice(b, udid);
      assert.deepEqual(ctlRequest('attach', [udid]), { Action: 'attach', UDID: udid });
      assert.deepEqual(ctlRequest('attach', []), { Action: 'attach' });
      assert.deepEqual(ctlRequest('wifi', [udid, 'silent']), { Action: 'wifi', UDID: udid, Mode: 'silent' });

      await ctl('detach', [udid]);
      assert.deepEqual(((await ctl('list', [])) as { devices: unknown[] }).devices, []);
      const back = ((await ctl('attach', [udid.toLowerCase()])) as { attached: Summary }).attached;
      assert.deepEqual([back.udid, back.pairedHosts, back.usb], [udid, 1, true]);
      // Still trusted: a session starts with the pairing made before the unplugging.
      const device = await selectDevice(b.ctx, udid);
      assert.equal(await device.withSession(async () => 'session'), 'session');
      await assert.rejects(ctl('attach', ['00008120-00000000DEADBEEF']), (e) => hasCode(e, 'DEVICE_NOT_FOUND'));

      await setWifi(device, true);
      // The phone joins the network once its setting is kept: wait for its entry, not a fixed time.
      await waitFor(
        async () => typeof ((await ctl('list', [])) as { devices: Summary[] }).devices[0]?.network === 'number',
        5_000,
        'the Wi-Fi entry',
      );
      const listed = (await ctl('list', [])) as { devices: Summary[] };
      assert.equal(listed.devices[0]?.wifiConnections, true);
      assert.equal(typeof listed.devices[0]?.network, 'number');
      const left = ((await ctl('wifi', [udid, 'leave'])) as { device: Summary }).device;
      assert.equal(left.network, null);
      assert.equal(b.te.emu.networkDevices().length, 0);
      const joined = ((await ctl('wifi', [udid, 'join'])) as { device: Summary }).device;
      assert.equal(typeof joined.network, 'number');
      await ctl('wifi', [udid, 'silent']);
      assert.equal(b.te.emu.networkDevices()[0]?.link.silent, true);
      await assert.rejects(ctl('wifi', [udid, 'away']), (e) => hasCode(e, 'USAGE'));
    } finally {
      await b.dispose();
    }
  });
});
