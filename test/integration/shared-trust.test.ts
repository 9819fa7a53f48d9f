/**
 * One trust for every tool: a pairing made by ibackup works for libimobiledevice's tools and the
 * other way round, because both keep the record in usbmuxd.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInfoLines, requireTools } from '../support/interop-tools.js';
import { json, startBench } from '../support/bench.js';

describe('shared trust with libimobiledevice', () => {
  test('after "ibackup pair", ideviceinfo works without pairing again', async (t) => {
    if (!requireTools(t, ['ideviceinfo', 'idevicepair', 'idevice_id'])) return;
    const b = await startBench();
    try {
      const udid = b.te.udids[0]!;
      const ids = await b.te.tool('idevice_id', ['-l']);
      const listed = json<{ devices: { udid: string }[] }>((await b.cli(['--json', 'devices'])).stdout);
      assert.deepEqual(
        listed.devices.map((d) => d.udid),
        ids.stdout.trim().split('\n'),
      );

      assert.equal((await b.cli(['pair'])).code, 0);
      const r = await b.te.tool('ideviceinfo', ['-u', udid, '-k', 'DeviceName']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), b.te.emu.find(udid).deviceName);
      // A value only a trusted session gives.
      const all = parseInfoLines((await b.te.tool('ideviceinfo', ['-u', udid])).stdout);
      assert.equal(all.get('UniqueDeviceID'), udid);
      const validate = await b.te.tool('idevicepair', ['-u', udid, 'validate']);
      assert.match(validate.stdout, /SUCCESS/, validate.stdout + validate.stderr);
      assert.equal(b.te.emu.summary(b.te.emu.find(udid)).pairedHosts, 1, 'no second pairing was made');
    } finally {
      await b.dispose();
    }
  });

  test('after "idevicepair pair", ibackup info and pair --check work', async (t) => {
    if (!requireTools(t, ['idevicepair'])) return;
    const b = await startBench();
    try {
      const udid = b.te.udids[0]!;
      const p = await b.te.tool('idevicepair', ['-u', udid, 'pair']);
      assert.match(p.stdout, /SUCCESS: Paired with device/, p.stdout + p.stderr);
      const check = await b.cli(['pair', '--check']);
      assert.equal(check.code, 0, check.stdout + check.stderr);
      const info = await b.cli(['--json', 'info']);
      assert.equal(info.code, 0, info.stdout + info.stderr);
      assert.equal(json<{ udid: string }>(info.stdout).udid, udid);
      const un = await b.cli(['--json', 'unpair']);
      assert.equal(json<{ deviceForgot: boolean }>(un.stdout).deviceForgot, true);
      // Forgotten on both sides: the phone and usbmuxd (where idevicepair keeps it).
      assert.equal(b.te.emu.summary(b.te.emu.find(udid)).pairedHosts, 0);
      assert.equal(await b.ctx.mux.readPairRecord(udid), null);
    } finally {
      await b.dispose();
    }
  });
});
