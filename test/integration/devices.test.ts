import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { listDevices, watchDevices, type DeviceEvent } from '../../src/app/devices.js';
import { findDevice, sameUdid } from '../../src/app/select-device.js';
import { pairDevice } from '../../src/app/pair.js';
import { hostDevice } from '../../src/app/describe.js';
import { isIbackupError } from '../../src/errors.js';
import { json, startBench, type ErrorDoc } from '../support/bench.js';

interface DevicesDoc {
  devices: {
    udid: string;
    name: string;
    productType: string;
    model: string;
    iosVersion: string;
    connection: string;
    paired: boolean;
  }[];
}

describe('ibackup devices', () => {
  test('lists every device with name, model, iOS, connection and pairing (CLI --json, text, and app)', async () => {
    const b = await startBench({ devices: 2 });
    try {
      const r = await b.cli(['--json', 'devices']);
      assert.equal(r.code, 0, r.stderr);
      const doc = json<DevicesDoc>(r.stdout);
      assert.equal(doc.devices.length, 2);
      const first = b.te.emu.summary(b.te.emu.devices()[0]!);
      const d = doc.devices.find((x) => x.udid === first.udid);
      assert.ok(d, r.stdout);
      assert.deepEqual(
        {
          name: d.name,
          productType: d.productType,
          model: d.model,
          iosVersion: d.iosVersion,
          connection: d.connection,
          paired: d.paired,
        },
        {
          name: first.name,
          productType: first.productType,
          model: 'iPhone 14 Pro',
          iosVersion: first.iosVersion,
          connection: 'USB',
          paired: false,
        },
      );

      const text = await b.cli(['devices']);
      assert.equal(text.code, 0);
      assert.match(text.stdout, /UDID\s+NAME\s+MODEL/);
      assert.ok(text.stdout.includes(first.udid));

      // After pairing one, it is listed as paired (record stored AND a session starts).
      const info = await findDevice(b.ctx, first.udid);
      await pairDevice(hostDevice(b.ctx, info));
      const listed = await listDevices(b.ctx);
      assert.equal(listed.devices.find((x) => x.udid === first.udid)?.paired, true);
      assert.equal(listed.devices.find((x) => x.udid !== first.udid)?.paired, false);
    } finally {
      await b.dispose();
    }
  });

  test('no device: {"devices":[]} and exit 0', async () => {
    const b = await startBench({ devices: 0 });
    try {
      const r = await b.cli(['--json', 'devices']);
      assert.equal(r.code, 0);
      assert.deepEqual(json(r.stdout), { devices: [] });
      const t = await b.cli(['devices']);
      assert.equal(t.code, 0);
      assert.match(t.stdout, /No iPhone is connected/);
      assert.match(t.stderr, /not through a hub/);
    } finally {
      await b.dispose();
    }
  });

  test('--watch --json prints attached and detached NDJSON lines', async () => {
    const b = await startBench({ devices: 1 });
    const child = b.spawnCli(['--json', 'devices', '--watch']);
    const lines: DeviceEvent[] = [];
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => lines.push(json<DeviceEvent>(l)));
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const until = async (pred: () => boolean, what: string): Promise<void> => {
      const end = Date.now() + 15_000;
      while (!pred()) {
        if (Date.now() > end) assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(lines)} ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      const present = b.te.udids[0]!;
      await until(() => lines.some((e) => e.event === 'attached' && e.device.udid === present), 'the present device');
      const added = await b.te.emu.attach();
      await until(() => lines.some((e) => e.event === 'attached' && e.device.udid === added.udid), 'attach');
      const attachedLine = lines.find((e) => e.device.udid === added.udid)!;
      assert.equal(attachedLine.device.model, 'iPhone 14 Pro');
      assert.equal(attachedLine.device.paired, false);
      b.te.emu.detach(added.udid);
      await until(() => lines.some((e) => e.event === 'detached' && e.device.udid === added.udid), 'detach');
      // Pairing through the app makes usbmuxd announce Paired.
      await pairDevice(hostDevice(b.ctx, await findDevice(b.ctx, present)));
      await until(
        () => lines.some((e) => e.event === 'paired' && e.device.udid === present && e.device.paired),
        'paired',
      );
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGINT');
      assert.equal(await exited, 0, stderr);
    } finally {
      child.kill('SIGKILL');
      await b.dispose();
    }
  });

  test('watchDevices (app) stops when its signal aborts', async () => {
    const b = await startBench({ devices: 1 });
    try {
      const ac = new AbortController();
      const seen: DeviceEvent[] = [];
      const done = watchDevices(
        b.ctx,
        (e) => {
          seen.push(e);
          if (e.event === 'attached') ac.abort();
        },
        ac.signal,
      );
      await done;
      assert.equal(seen[0]?.event, 'attached');
      assert.equal(seen[0]?.device.udid, b.te.udids[0]);
    } finally {
      await b.dispose();
    }
  });
});

describe('device selection', () => {
  test('-u matches a UDID in any case, with or without the dash, or the device name', async () => {
    const b = await startBench({ devices: 2 });
    try {
      const [u1, u2] = b.te.udids as [string, string];
      assert.equal((await findDevice(b.ctx, u1.toLowerCase())).udid, u1);
      assert.equal((await findDevice(b.ctx, u2.replace(/-/g, ''))).udid, u2);
      const name2 = b.te.emu.find(u2).deviceName;
      assert.equal((await findDevice(b.ctx, name2)).udid, u2);
      assert.equal((await findDevice(b.ctx, name2.toUpperCase())).udid, u2);
      assert.ok(sameUdid(u1, u1.replace(/-/g, '').toLowerCase()));

      await assert.rejects(
        findDevice(b.ctx),
        (e) =>
          isIbackupError(e) &&
          e.code === 'MULTIPLE_DEVICES' &&
          Array.isArray(e.details.devices) &&
          e.details.devices.length === 2,
      );
      await assert.rejects(
        findDevice(b.ctx, 'no such phone'),
        (e) => isIbackupError(e) && e.code === 'DEVICE_NOT_FOUND',
      );

      // The CLI without a terminal: MULTIPLE_DEVICES listing both, exit 1.
      const r = await b.cli(['--json', 'info']);
      assert.equal(r.code, 1);
      const err = json<ErrorDoc>(r.stdout).error;
      assert.equal(err.code, 'MULTIPLE_DEVICES');
      assert.ok(err.message.includes(u1) && err.message.includes(u2), err.message);
      const named = await b.cli(['--json', '-u', name2, 'pair', '--check']);
      assert.equal(named.code, 1); // found by name; not paired yet
      assert.equal(json<{ udid: string }>(named.stdout).udid, u2);
      const bad = await b.cli(['-u', 'nope', 'info']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /No connected device has the UDID or name "nope"/);
    } finally {
      await b.dispose();
    }
  });

  test('no device: NO_DEVICE with the cable, port, hub and unlock hints', async () => {
    const b = await startBench({ devices: 0 });
    try {
      await assert.rejects(findDevice(b.ctx), (e) => isIbackupError(e) && e.code === 'NO_DEVICE');
      const r = await b.cli(['--json', 'info']);
      assert.equal(r.code, 1);
      const err = json<ErrorDoc>(r.stdout).error;
      assert.equal(err.code, 'NO_DEVICE');
      for (const hint of [/cable that carries data/, /not through a hub/, /unlock/, /Trust/])
        assert.match(err.remedy, hint);
    } finally {
      await b.dispose();
    }
  });
});
