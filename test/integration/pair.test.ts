import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkPairing, pairDevice, unpairDevice, type PairEvent } from '../../src/app/pair.js';
import { selectDevice } from '../../src/app/select-device.js';
import { PairRecordStore } from '../../src/host/lockdown/pair-records.js';
import { UsbmuxClient } from '../../src/host/usbmux.js';
import { isIbackupError } from '../../src/errors.js';
import { json, startBench, type ErrorDoc } from '../support/bench.js';

describe('ibackup pair / unpair / pair --check (CLI)', () => {
  test('check fails before pairing, pair saves through usbmuxd, check passes, unpair forgets', async () => {
    const b = await startBench();
    const udid = b.te.udids[0]!;
    try {
      const before = await b.cli(['--json', 'pair', '--check']);
      assert.equal(before.code, 1, before.stderr);
      assert.equal(json<{ paired: boolean }>(before.stdout).paired, false);

      const r = await b.cli(['--json', 'pair']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(json(r.stdout), { udid, paired: true, alreadyPaired: false, savedTo: 'usbmuxd' });
      assert.equal(b.te.emu.summary(b.te.emu.find(udid)).pairedHosts, 1);
      // The record carries EscrowBag and WiFiMACAddress (read before pairing).
      const stored = await b.ctx.records.read(udid);
      assert.equal(stored?.source, 'usbmuxd');
      assert.ok(stored.record.EscrowBag && stored.record.EscrowBag.length > 0);
      assert.match(stored.record.WiFiMACAddress ?? '', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i);

      const check = await b.cli(['pair', '--check']);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /Paired with/);

      const again = await b.cli(['--json', 'pair']);
      assert.equal(json<{ alreadyPaired: boolean }>(again.stdout).alreadyPaired, true);

      const un = await b.cli(['--json', 'unpair']);
      assert.equal(un.code, 0, un.stderr);
      assert.deepEqual(json(un.stdout), { udid, wasPaired: true, deviceForgot: true });
      assert.equal(b.te.emu.summary(b.te.emu.find(udid)).pairedHosts, 0);
      assert.equal(await b.ctx.records.read(udid), null);
      const after = await b.cli(['pair', '--check']);
      assert.equal(after.code, 1);
      assert.match(after.stdout, /Not paired/);
    } finally {
      await b.dispose();
    }
  });

  test('pending trust: waits (events on stderr) and succeeds once the owner taps Trust', async () => {
    const b = await startBench();
    try {
      b.te.emu.find(b.te.udids[0]!).setTrust({ mode: 'pending', seconds: 2 });
      const started = Date.now();
      const r = await b.cli(['--json', 'pair']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(Date.now() - started >= 2000);
      const events = r.stderr
        .trim()
        .split('\n')
        .map((l) => json<{ event: string }>(l).event);
      assert.deepEqual(events, ['waiting-for-trust', 'trusted']);
      const text = await b.cli(['pair', '--check']);
      assert.equal(text.code, 0);
    } finally {
      await b.dispose();
    }
  });

  test('plain text without a terminal: one line per state', async () => {
    const b = await startBench();
    try {
      b.te.emu.find(b.te.udids[0]!).setTrust({ mode: 'pending', seconds: 1 });
      const r = await b.cli(['pair']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Tap "Trust" on the iPhone/);
      assert.match(r.stdout, /Paired with/);
    } finally {
      await b.dispose();
    }
  });

  test('denied: TRUST_DENIED with "disconnect, restart the iPhone, reconnect"', async () => {
    const b = await startBench();
    try {
      b.te.emu.find(b.te.udids[0]!).setTrust({ mode: 'deny' });
      const r = await b.cli(['--json', 'pair']);
      assert.equal(r.code, 1);
      const err = json<ErrorDoc>(r.stdout).error;
      assert.equal(err.code, 'TRUST_DENIED');
      assert.match(err.remedy, /Disconnect the iPhone, restart it, reconnect it/);
      const text = await b.cli(['pair']);
      assert.equal(text.code, 1);
      assert.match(text.stderr, /Don't Trust/);
    } finally {
      await b.dispose();
    }
  });

  test('locked for longer than --timeout: DEVICE_LOCKED, bounded', async () => {
    const b = await startBench();
    try {
      b.te.emu.find(b.te.udids[0]!).setTrust({ mode: 'locked' });
      const started = Date.now();
      const r = await b.cli(['--json', 'pair', '--timeout', '2']);
      assert.ok(Date.now() - started < 15_000);
      assert.equal(r.code, 1);
      assert.equal(json<ErrorDoc>(r.stdout).error.code, 'DEVICE_LOCKED');
      assert.match(r.stderr, /"event":"locked"/);
      const bad = await b.cli(['pair', '--timeout', 'soon']);
      assert.equal(bad.code, 2);
    } finally {
      await b.dispose();
    }
  });
});

describe('pairing (app)', () => {
  test('locked, then unlocked and trusted: "locked" event, then success', async () => {
    const b = await startBench();
    try {
      const phone = b.te.emu.find(b.te.udids[0]!);
      phone.setTrust({ mode: 'locked' });
      const events: PairEvent['type'][] = [];
      const device = await selectDevice(b.ctx);
      const pairing = pairDevice(device, {
        retryMs: 100,
        timeoutMs: 10_000,
        onEvent: (e) => {
          events.push(e.type);
          if (e.type === 'locked') setTimeout(() => phone.setTrust({ mode: 'pending', seconds: 0.3 }), 300);
        },
      });
      const r = await pairing;
      assert.equal(r.alreadyPaired, false);
      assert.deepEqual(events, ['locked', 'waiting-for-trust', 'trusted']);
      assert.equal((await checkPairing(device)).paired, true);
    } finally {
      await b.dispose();
    }
  });

  test('waiting is abortable and bounded by its timeout', async () => {
    const b = await startBench();
    try {
      b.te.emu.find(b.te.udids[0]!).setTrust({ mode: 'pending', seconds: 600 });
      const device = await selectDevice(b.ctx);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      await assert.rejects(
        pairDevice(device, { retryMs: 50, signal: ac.signal }),
        (e) => isIbackupError(e) && e.code === 'CANCELLED',
      );
      const started = Date.now();
      await assert.rejects(
        pairDevice(device, { retryMs: 50, timeoutMs: 400 }),
        (e) => isIbackupError(e) && e.code === 'TIMEOUT',
      );
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await b.dispose();
    }
  });

  test("where usbmuxd cannot store records, they go to ibackup's folder (0600)", async () => {
    const b = await startBench();
    try {
      const refusing = new UsbmuxClient({ address: b.ctx.mux.address });
      refusing.savePairRecord = async () => false;
      refusing.readPairRecord = async () => null;
      const records = new PairRecordStore(refusing, { ownDir: join(b.configHome, 'own'), systemDirs: [] });
      const ctx = { mux: refusing, records };
      const device = await selectDevice(ctx);
      const r = await pairDevice(device);
      assert.equal(r.savedTo, 'ibackup');
      const files = await readdir(join(b.configHome, 'own'));
      assert.deepEqual(files, [`${device.udid}.plist`]);
      assert.equal((await stat(join(b.configHome, 'own', files[0]!))).mode & 0o777, 0o600);
      assert.equal((await checkPairing(device)).paired, true);
      const un = await unpairDevice(device);
      assert.equal(un.deviceForgot, true);
      assert.deepEqual(await readdir(join(b.configHome, 'own')), []);
    } finally {
      await b.dispose();
    }
  });

  test('a record the phone no longer knows: check says not paired, pair makes a new one', async () => {
    const b = await startBench();
    try {
      const device = await selectDevice(b.ctx);
      await pairDevice(device);
      // The owner removed the trust on the phone (like Reset Location & Privacy).
      const phone = b.te.emu.find(device.udid);
      for (const p of phone.state.pairings()) await phone.unpair(p.hostId);
      const check = await checkPairing(device);
      assert.equal(check.paired, false);
      assert.equal(check.problem?.code, 'NOT_PAIRED');
      const r = await pairDevice(device);
      assert.equal(r.alreadyPaired, false);
      assert.equal((await checkPairing(device)).paired, true);
    } finally {
      await b.dispose();
    }
  });
});
