/** The doctor's Wi-Fi check: phones listed over Wi-Fi named; on Linux's own usbmuxd, what works instead. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { wifiCheck } from '../../../src/app/doctor-wifi.js';

const usb = { deviceId: 1, udid: '00008030-000A', connection: 'USB' as const };
const net = { deviceId: 2, udid: '00008030-000A', connection: 'Network' as const };

describe('doctor: Wi-Fi', () => {
  test('phones over Wi-Fi are named, once each', () => {
    const c = wifiCheck({ platform: 'darwin', customAddress: false, listed: [usb, net, { ...net, deviceId: 3 }] });
    assert.deepEqual(c, { id: 'wifi', ok: true, message: 'Listed over Wi-Fi: 00008030-000A.', remedy: '' });
  });

  test("Linux's usbmuxd: a warning naming usbmuxd issue 173 and what works; nothing elsewhere", () => {
    const c = wifiCheck({ platform: 'linux', customAddress: false, listed: [usb] });
    assert.equal(c?.ok, true);
    assert.equal(c?.warning, true);
    assert.match(c?.message ?? '', /does not find iPhones over Wi-Fi.*usbmuxd issue 173/);
    assert.match(c?.remedy ?? '', /over USB.*ibackup watch.*usbmuxd2 or netmuxd.*--usbmuxd/);
    assert.equal(wifiCheck({ platform: 'linux', customAddress: true, listed: [usb] }), null);
    assert.equal(wifiCheck({ platform: 'darwin', customAddress: false, listed: [usb] }), null);
    assert.equal(wifiCheck({ platform: 'win32', customAddress: false, listed: [] }), null);
  });
});
