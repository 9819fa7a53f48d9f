/**
 * Pairing with the virtual iPhone through libimobiledevice's own tools: device listing, the trust
 * dialog (accept, pending, deny, locked), validate/unpair/systembuid, pairings surviving a restart
 * and a host the device does not know (InvalidHostID).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sendControl } from '../../src/emulator/ctl-client.js';
import { parsePlist, serializeXmlPlist } from '../../src/protocol/plist/index.js';
import { isPlistDict } from '../../src/protocol/plist/types.js';
import { pairWithTool, requireTools } from '../support/interop-tools.js';
import { startTestEmulator, type TestEmulator } from '../support/test-emulator.js';
import { waitFor } from '../support/wait.js';

const MODERN_UDID = /^[0-9A-F]{8}-[0-9A-F]{16}$/;

async function hostIdOfRecord(te: TestEmulator, udid: string): Promise<string> {
  const bytes = await te.emu.readPairRecord(udid);
  assert.ok(bytes, `the usbmuxd role holds a pair record for ${udid}`);
  const rec = parsePlist(bytes);
  assert.ok(isPlistDict(rec) && typeof rec.HostID === 'string');
  return rec.HostID;
}

describe('idevicepair and idevice_id against the virtual iPhone', () => {
  let te: TestEmulator;
  let first: string;
  let second: string;

  before(async () => {
    te = await startTestEmulator({ devices: 2 });
    [first, second] = te.udids as [string, string];
  });
  after(async () => {
    await te.dispose();
  });

  test('idevice_id -l lists both virtual devices with modern UDIDs', async (t) => {
    if (!requireTools(t)) return;
    const r = await te.tool('idevice_id', ['-l']);
    const listed = r.stdout.trim().split('\n').sort();
    assert.deepEqual(listed, [first, second].sort());
    for (const u of listed) assert.match(u, MODERN_UDID);
  });

  test('idevicepair pair: the owner accepts, both sides keep the pairing', async (t) => {
    if (!requireTools(t)) return;
    await pairWithTool(te, first);
    const hostId = await hostIdOfRecord(te, first);
    const device = te.emu.find(first);
    assert.deepEqual(
      device.state.pairings().map((p) => p.hostId),
      [hostId],
    );
    const v = await te.tool('idevicepair', ['-u', first, 'validate']);
    assert.match(v.stdout, new RegExp(`SUCCESS: Validated pairing with device ${first}`));
  });

  test('idevicepair systembuid prints the SystemBUID of the usbmuxd role', async (t) => {
    if (!requireTools(t)) return;
    const r = await te.tool('idevicepair', ['systembuid']);
    assert.equal(r.stdout.trim(), te.emu.systemBuid());
    assert.match(r.stdout.trim(), /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  });

  test('a pending trust dialog: asked to accept first, paired once the owner has answered', async (t) => {
    if (!requireTools(t)) return;
    await sendControl(te.emu.socketAddress, { Action: 'trust', UDID: second, Mode: 'pending', Seconds: 2 });
    const r1 = await te.tool('idevicepair', ['-u', second, 'pair']);
    const shownBy = Date.now(); // the dialog appeared while that attempt ran
    assert.match(r1.stdout + r1.stderr, /Please accept the trust dialog on the screen of device/);
    assert.doesNotMatch(r1.stdout, /SUCCESS/);
    assert.equal(te.emu.find(second).state.pairings().length, 0);
    assert.equal(await te.emu.readPairRecord(second), null);
    await waitFor(() => Date.now() - shownBy > 2_100, 5_000, 'the owner to answer the dialog');
    await pairWithTool(te, second);
    assert.equal(te.emu.find(second).state.pairings().length, 1);
    assert.equal(te.emu.find(second).state.pairings()[0]?.hostId, await hostIdOfRecord(te, second));
  });

  test('idevicepair unpair: the device forgets the host, and it must pair (and be trusted) again', async (t) => {
    if (!requireTools(t)) return;
    const r = await te.tool('idevicepair', ['-u', second, 'unpair']);
    assert.match(r.stdout, new RegExp(`SUCCESS: Unpaired with device ${second}`));
    assert.equal(te.emu.find(second).state.pairings().length, 0);
    assert.equal(await te.emu.readPairRecord(second), null, 'the host deleted its pair record');
    // The phone shows the dialog again and nobody answers it.
    te.emu.find(second).setTrust({ mode: 'pending', seconds: 600 });
    const v = await te.tool('idevicepair', ['-u', second, 'validate']);
    assert.match(v.stdout + v.stderr, /Please accept the trust dialog/);
    assert.doesNotMatch(v.stdout, /SUCCESS/);
    const info = await te.tool('ideviceinfo', ['-u', second, '-k', 'DeviceName']);
    assert.equal(info.stdout, '');
    assert.match(info.stderr, /Could not connect to lockdownd: Pairing dialog response pending \(-19\)/);
    assert.notEqual(info.code, 0);
    assert.equal(te.emu.find(second).state.pairings().length, 0);
  });

  test('the owner denies the trust dialog: UserDeniedPairing', async (t) => {
    if (!requireTools(t)) return;
    await sendControl(te.emu.socketAddress, { Action: 'trust', UDID: second, Mode: 'deny' });
    const r = await te.tool('idevicepair', ['-u', second, 'pair']);
    assert.match(r.stdout + r.stderr, new RegExp(`Device ${second} said that the user denied the trust dialog`));
    assert.doesNotMatch(r.stdout, /SUCCESS/);
    const info = await te.tool('ideviceinfo', ['-u', second, '-k', 'DeviceName']);
    assert.equal(info.stdout, '');
    assert.match(info.stderr, /User denied pairing \(-18\)/);
    assert.equal(te.emu.find(second).state.pairings().length, 0);
  });

  test('the phone is locked with a passcode: PasswordProtected', async (t) => {
    if (!requireTools(t)) return;
    await sendControl(te.emu.socketAddress, { Action: 'trust', UDID: second, Mode: 'locked' });
    const r = await te.tool('idevicepair', ['-u', second, 'pair']);
    assert.match(r.stdout + r.stderr, /because a passcode is set\. Please enter the passcode on the device and retry/);
    assert.doesNotMatch(r.stdout, /SUCCESS/);
    const info = await te.tool('ideviceinfo', ['-u', second, '-k', 'DeviceName']);
    assert.equal(info.stdout, '');
    assert.match(info.stderr, /Password protected \(-17\)/);
    assert.equal(te.emu.find(second).state.pairings().length, 0);
  });

  test('a restart on the same state folder keeps the pairing on both sides', async (t) => {
    if (!requireTools(t)) return;
    const hostId = await hostIdOfRecord(te, first);
    await te.restart();
    assert.deepEqual(te.udids.sort(), [first, second].sort());
    // A refusing owner proves no new pairing happens: the stored one is used.
    te.emu.find(first).setTrust({ mode: 'deny' });
    const r = await te.tool('ideviceinfo', ['-u', first, '-k', 'DeviceName']);
    assert.equal(r.stdout.trim(), te.emu.find(first).deviceName, r.stderr);
    assert.deepEqual(
      te.emu
        .find(first)
        .state.pairings()
        .map((p) => p.hostId),
      [hostId],
    );
    const v = await te.tool('idevicepair', ['-u', first, 'validate']);
    assert.match(v.stdout, /SUCCESS: Validated pairing/);
  });

  test('a pair record for a host the device never paired with: InvalidHostID', async (t) => {
    if (!requireTools(t)) return;
    const bytes = await te.emu.readPairRecord(first);
    assert.ok(bytes);
    const rec = parsePlist(bytes);
    assert.ok(isPlistDict(rec));
    const original = bytes.slice();
    await te.emu.savePairRecord(first, serializeXmlPlist({ ...rec, HostID: '11111111-2222-4333-8444-555555555555' }));
    te.emu.find(first).setTrust({ mode: 'deny' });
    const r = await te.tool('ideviceinfo', ['-u', first, '-k', 'DeviceName']);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /Could not connect to lockdownd: Invalid HostID \(-21\)/);
    const v = await te.tool('idevicepair', ['-u', first, 'validate']);
    assert.match(v.stdout + v.stderr, new RegExp(`Device ${first} is not paired with this host`));

    // The device forgets the real host ("Reset Location & Privacy"): same answer.
    await te.emu.savePairRecord(first, original);
    const ok = await te.tool('ideviceinfo', ['-u', first, '-k', 'DeviceName']);
    assert.equal(ok.stdout.trim(), te.emu.find(first).deviceName);
    const device = te.emu.find(first);
    for (const p of device.state.pairings()) await device.unpair(p.hostId);
    const forgotten = await te.tool('ideviceinfo', ['-u', first, '-k', 'DeviceName']);
    assert.equal(forgotten.stdout, '');
    assert.match(forgotten.stderr, /Invalid HostID \(-21\)/);
  });
});

describe('legacy 40-hex UDIDs', () => {
  test('idevice_id -l lists a legacy UDID, and the tools reach that device', async (t) => {
    if (!requireTools(t)) return;
    const te = await startTestEmulator({ profile: { extends: 'tiny', identity: { udidStyle: 'legacy40' } } });
    try {
      const [udid] = te.udids as [string];
      assert.match(udid, /^[0-9a-f]{40}$/);
      const r = await te.tool('idevice_id', ['-l']);
      assert.equal(r.stdout.trim(), udid);
      await pairWithTool(te, udid);
      const info = await te.tool('ideviceinfo', ['-u', udid, '-k', 'UniqueDeviceID']);
      assert.equal(info.stdout.trim(), udid);
    } finally {
      await te.dispose();
    }
  });
});
