/**
 * libimobiledevice against the virtual iPhone's Wi-Fi entry: with "Show this iPhone when on
 * Wi-Fi" set by ibackup and the cable out, `idevice_id -n` lists the phone as a Network device
 * (libusbmuxd accepts the entry only with a NetworkAddress whose first byte, the sockaddr's
 * length, is set). libimobiledevice then connects to that address itself, which the virtual
 * iPhone does not serve (it is reached through its usbmuxd's Connect, as ibackup does).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setWifi } from '../../src/app/wifi.js';
import { pairWithTool, requireTools } from '../support/interop-tools.js';
import { selectDevice } from '../../src/app/select-device.js';
import { openHost } from '../../src/app/context.js';
import { startTestEmulator } from '../support/test-emulator.js';

describe('libimobiledevice and the virtual iPhone over Wi-Fi', () => {
  test('idevice_id -n lists it as Network', async (t) => {
    if (!requireTools(t)) return;
    const te = await startTestEmulator();
    try {
      const udid = te.udids[0] as string;
      await pairWithTool(te, udid);
      // The tools keep their pairing in usbmuxd (the emulator): ibackup finds it there too.
      const ctx = openHost({ usbmuxd: te.emu.socketAddress, systemDirs: [], ownDir: '/nonexistent' });
      await setWifi(await selectDevice(ctx, udid), true);
      te.emu.detach(udid);
      const list = await te.tool('idevice_id', ['-l', '-n']);
      assert.equal(list.stdout.trim(), `${udid} (Network)`);
      assert.equal((await te.tool('idevice_id', ['-l'])).stdout.trim(), '', 'no USB entry: the cable is out');
    } finally {
      await te.dispose();
    }
  });
});
