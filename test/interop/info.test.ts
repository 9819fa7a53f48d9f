/**
 * What libimobiledevice's ideviceinfo, idevicename and idevicedate read from (and write to) the
 * virtual iPhone over a TLS lockdown session.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pairWithTool, parseInfoLines, requireTools } from '../support/interop-tools.js';
import { startTestEmulator, type TestEmulator } from '../support/test-emulator.js';

describe('ideviceinfo, idevicename and idevicedate against the virtual iPhone', () => {
  let te: TestEmulator;
  let udid: string;
  let paired = false;

  before(async () => {
    te = await startTestEmulator();
    [udid] = te.udids as [string];
  });
  after(async () => {
    await te.dispose();
  });

  async function ensurePaired(): Promise<void> {
    if (paired) return;
    await pairWithTool(te, udid);
    paired = true;
  }

  test('ideviceinfo shows the device identity', async (t) => {
    if (!requireTools(t)) return;
    await ensurePaired();
    const r = await te.tool('ideviceinfo', ['-u', udid]);
    assert.equal(r.stderr, '');
    const info = parseInfoLines(r.stdout);
    const id = te.emu.find(udid).profile.identity;
    assert.equal(info.get('UniqueDeviceID'), udid);
    assert.equal(info.get('ProductType'), id.productType);
    assert.match(info.get('ProductType') ?? '', /^iPhone\d+,\d+$/);
    assert.equal(info.get('ProductVersion'), id.productVersion);
    assert.equal(info.get('BuildVersion'), id.buildVersion);
    assert.equal(info.get('DeviceName'), te.emu.find(udid).deviceName);
    assert.equal(info.get('DeviceClass'), 'iPhone');
    assert.equal(info.get('SerialNumber'), id.serialNumber);
    assert.equal(info.get('WiFiAddress'), id.wifiAddress);
    assert.match(info.get('WiFiAddress') ?? '', /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.equal(info.get('HardwareModel'), id.hardwareModel);
    assert.equal(info.get('CPUArchitecture'), id.cpuArchitecture);
    assert.equal(info.get('ProductName'), 'iPhone OS');
    assert.equal(info.get('UniqueChipID'), String(id.uniqueChipId));
    assert.equal(info.get('ActivationState'), 'Activated');
    // The public key is shown as base64 of its PEM text.
    const pem = Buffer.from(info.get('DevicePublicKey') ?? '', 'base64').toString('latin1');
    assert.match(pem, /^-----BEGIN RSA PUBLIC KEY-----\n/);
    assert.ok(info.size > 40, `a real iPhone shows many keys; got ${info.size}`);
  });

  test('ideviceinfo -k DeviceName prints only the name', async (t) => {
    if (!requireTools(t)) return;
    await ensurePaired();
    const r = await te.tool('ideviceinfo', ['-u', udid, '-k', 'DeviceName']);
    assert.equal(r.stdout, `${te.emu.find(udid).deviceName}\n`);
  });

  test('ideviceinfo -q com.apple.mobile.backup: no backup password', async (t) => {
    if (!requireTools(t)) return;
    await ensurePaired();
    const r = await te.tool('ideviceinfo', ['-u', udid, '-q', 'com.apple.mobile.backup']);
    const info = parseInfoLines(r.stdout);
    assert.equal(info.get('WillEncrypt'), 'false');
    assert.equal(info.get('RequiresEncryption'), 'false');
    assert.equal(info.get('Version'), '2.0');
    const k = await te.tool('ideviceinfo', ['-u', udid, '-q', 'com.apple.mobile.backup', '-k', 'WillEncrypt']);
    assert.equal(k.stdout.trim(), 'false');
  });

  test('ideviceinfo -q com.apple.disk_usage: capacity and free space', async (t) => {
    if (!requireTools(t)) return;
    await ensurePaired();
    const r = await te.tool('ideviceinfo', ['-u', udid, '-q', 'com.apple.disk_usage']);
    const info = parseInfoLines(r.stdout);
    const total = Number(info.get('TotalDiskCapacity'));
    const dataCapacity = Number(info.get('TotalDataCapacity'));
    const available = Number(info.get('TotalDataAvailable'));
    assert.equal(total, te.emu.find(udid).profile.identity.totalCapacityBytes);
    assert.ok(dataCapacity > 0 && dataCapacity <= total, r.stdout);
    assert.ok(available >= 0 && available <= dataCapacity, r.stdout);
    assert.ok(Number.isInteger(Number(info.get('AmountDataAvailable'))), r.stdout);
  });

  test('idevicedate prints a time near now', async (t) => {
    if (!requireTools(t)) return;
    await ensurePaired();
    const r = await te.tool('idevicedate', ['-u', udid]);
    const shown = Date.parse(
      r.stdout
        .trim()
        .replace(/ UTC /, ' ')
        .replace(/^\w{3} (\w{3}) +(\d+) ([\d:]+) (\d{4})$/, '$1 $2 $4 $3 UTC'),
    );
    assert.ok(Number.isFinite(shown), `a date: ${r.stdout}${r.stderr}`);
    assert.ok(Math.abs(shown - Date.now()) < 2 * 60_000, `near now: ${r.stdout}`);
  });

  test('idevicename prints the name, renames the device, and the name survives a restart', async (t) => {
    if (!requireTools(t)) return;
    await ensurePaired();
    const before = await te.tool('idevicename', ['-u', udid]);
    assert.equal(before.stdout, `${te.emu.find(udid).deviceName}\n`);
    const newName = 'Interop Phone';
    const set = await te.tool('idevicename', ['-u', udid, newName]);
    assert.match(set.stdout, new RegExp(`device name set to '${newName}'`));
    assert.equal(te.emu.find(udid).deviceName, newName);
    const k = await te.tool('ideviceinfo', ['-u', udid, '-k', 'DeviceName']);
    assert.equal(k.stdout, `${newName}\n`);

    await te.restart();
    te.emu.find(udid).setTrust({ mode: 'deny' }); // the stored pairing must be enough
    const again = await te.tool('ideviceinfo', ['-u', udid, '-k', 'DeviceName']);
    assert.equal(again.stdout, `${newName}\n`, again.stderr);
    const listed = await te.tool('idevicename', ['-u', udid]);
    assert.equal(listed.stdout, `${newName}\n`);
  });
});
