/**
 * The virtual iPhone's injected faults: their parameters, each fault on the device's backup hooks
 * (cable pulled after N bytes or at a phase, throttle, stall, host out of space, device locked,
 * one-shot and repeat=1, clear), the ctl wiring, and each fault seen by libimobiledevice's
 * idevicebackup2 (skipped when it is not installed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ctlRequest } from '../../src/cli/emulator.js';
import type { VirtualDevice } from '../../src/emulator/device.js';
import type { DeviceRuntime } from '../../src/emulator/device-services.js';
import { DeviceFaults, parseFault, parseFaultArgs, type FaultHooks } from '../../src/emulator/faults.js';
import { Mb2Failure } from '../../src/emulator/services/mobilebackup2/index.js';
import { IbackupError } from '../../src/errors.js';
import { assertBackupEqualsDevice, runtimeOf } from '../support/backup-vs-device.js';
import { startTool, missingTools, pairWithTool, requireTools, type ToolResult } from '../support/interop-tools.js';
import { startTestEmulator, type TestEmulator } from '../support/test-emulator.js';
import { waitFor } from '../support/wait.js';

interface Rig {
  faults: DeviceFaults;
  hooks: FaultHooks;
  pulls: () => number;
  phase: (p: string) => Promise<void>;
  bytes: (n: number) => Promise<void>;
}

function rig(): Rig {
  let pulls = 0;
  const hooks: FaultHooks = { checkpoints: [], onBytes: () => undefined, runs: new Set() };
  const faults = new DeviceFaults();
  faults.install(hooks, { disconnectAll: () => void pulls++ });
  return {
    faults,
    hooks,
    pulls: () => pulls,
    phase: async (p) => {
      for (const c of hooks.checkpoints) await c(p);
    },
    bytes: async (n) => {
      await hooks.onBytes(n);
    },
  };
}

const isUsage = (e: unknown): boolean => e instanceof IbackupError && e.code === 'USAGE';
const mbCode = (code: number) => (e: unknown) => e instanceof Mb2Failure && e.code === code;

describe('fault parameters', () => {
  test('each fault with its parameters and defaults', () => {
    assert.deepEqual(parseFault('disconnect', { bytes: '1000' }), { name: 'disconnect', bytes: 1000, repeat: false });
    assert.deepEqual(parseFault('disconnect', { phase: 'moving', repeat: '1' }), {
      name: 'disconnect',
      phase: 'moving',
      repeat: true,
    });
    assert.deepEqual(parseFault('throttle', { mbps: 2.5 }), { name: 'throttle', mbps: 2.5, repeat: false });
    assert.deepEqual(parseFault('stall', { seconds: '3' }), {
      name: 'stall',
      seconds: 3,
      phase: 'uploading',
      repeat: false,
    });
    assert.deepEqual(parseFault('host-full'), { name: 'host-full', phase: 'uploading', repeat: false });
    assert.deepEqual(parseFault('locked', { phase: 'removing' }), { name: 'locked', phase: 'removing', repeat: false });
  });

  test('bad names and parameters are usage errors', () => {
    assert.throws(() => parseFault('meltdown'), isUsage);
    assert.throws(() => parseFault('disconnect'), isUsage);
    assert.throws(() => parseFault('disconnect', { bytes: '1', phase: 'moving' }), isUsage);
    assert.throws(() => parseFault('disconnect', { bytes: '-1' }), isUsage);
    assert.throws(() => parseFault('throttle', { mbps: 'fast' }), isUsage);
    assert.throws(() => parseFault('stall', { seconds: '2', phase: 'lunch' }), isUsage);
    assert.throws(() => parseFault('locked', { bytes: '2' }), isUsage);
    assert.throws(() => parseFault('host-full', { repeat: 'maybe' }), isUsage);
    assert.throws(() => parseFaultArgs(['bytes']), isUsage);
    assert.deepEqual(parseFaultArgs(['bytes=10', 'repeat=1']), { bytes: '10', repeat: '1' });
  });

  test('ctl fault arguments become the control request', () => {
    assert.deepEqual(ctlRequest('fault', ['U1', 'disconnect', 'bytes=5', 'repeat=1']), {
      Action: 'fault',
      UDID: 'U1',
      Fault: 'disconnect',
      Params: { bytes: '5', repeat: '1' },
    });
    assert.deepEqual(ctlRequest('fault', ['U1', 'clear']), { Action: 'fault', UDID: 'U1', Fault: 'clear', Params: {} });
    assert.throws(() => ctlRequest('fault', ['U1']), isUsage);
  });
});

describe('faults on the backup hooks', () => {
  test('disconnect bytes=N pulls the cable once N more bytes went out, once', async () => {
    const r = rig();
    r.faults.set(parseFault('disconnect', { bytes: 1000 }));
    await r.bytes(600);
    assert.equal(r.pulls(), 0);
    await assert.rejects(r.bytes(600), (e: unknown) => e instanceof IbackupError && e.code === 'CONNECTION_CLOSED');
    assert.equal(r.pulls(), 1);
    assert.deepEqual(r.faults.list(), []);
    await r.bytes(5000);
    assert.equal(r.pulls(), 1);
    assert.equal(r.faults.counters.bytes, 6200);
  });

  test('repeat=1 keeps a fault: every N bytes again', async () => {
    const r = rig();
    r.faults.set(parseFault('disconnect', { bytes: 100, repeat: 1 }));
    for (let i = 0; i < 3; i++) await assert.rejects(r.bytes(100));
    assert.equal(r.pulls(), 3);
    assert.equal(r.faults.list().length, 1);
  });

  test('disconnect phase=P pulls the cable at that phase only', async () => {
    const r = rig();
    r.faults.set(parseFault('disconnect', { phase: 'moving' }));
    for (const p of ['planning', 'directories', 'uploading']) await r.phase(p);
    assert.equal(r.pulls(), 0);
    await assert.rejects(r.phase('moving'));
    assert.equal(r.pulls(), 1);
    await r.phase('moving');
    assert.equal(r.pulls(), 1);
  });

  test('host-full and locked end the run with MB errors 105 and 208', async () => {
    const r = rig();
    r.faults.set(parseFault('host-full'));
    r.faults.set(parseFault('locked', { phase: 'removing' }));
    await r.phase('planning');
    await assert.rejects(r.phase('uploading'), mbCode(105));
    await r.phase('uploading');
    await assert.rejects(r.phase('removing'), mbCode(208));
    await r.phase('removing');
    assert.equal(r.pulls(), 0);
    assert.equal(r.faults.counters.fired, 2);
  });

  test('stall holds a phase for its seconds; clear ends it early', async () => {
    const r = rig();
    r.faults.set(parseFault('stall', { seconds: 0.3, phase: 'moving' }));
    let t0 = performance.now();
    await r.phase('moving');
    assert.ok(performance.now() - t0 >= 280, 'stalled');
    r.faults.set(parseFault('stall', { seconds: 60, phase: 'moving' }));
    t0 = performance.now();
    const stalled = r.phase('moving');
    setTimeout(() => r.faults.clear(), 50);
    await stalled;
    assert.ok(performance.now() - t0 < 10_000, 'clear woke the stall');
  });

  test('a stall ends when the run is cancelled (cable pulled, cancel request)', async () => {
    const r = rig();
    const run = new AbortController();
    (r.hooks.runs as Set<AbortController>).add(run);
    r.faults.set(parseFault('stall', { seconds: 60, phase: 'uploading' }));
    const stalled = r.phase('uploading');
    setTimeout(() => run.abort(), 50);
    await assert.rejects(stalled);
  });

  test('throttle paces uploads for one run, then is gone', async () => {
    const r = rig();
    r.faults.set(parseFault('throttle', { mbps: 8 })); // 1 MB/s
    await r.phase('planning');
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) await r.bytes(50_000);
    assert.ok(performance.now() - t0 >= 180, `200 kB at 1 MB/s took ${performance.now() - t0} ms`);
    await r.phase('finished');
    assert.deepEqual(r.faults.list(), []);
    const t1 = performance.now();
    await r.bytes(1_000_000);
    assert.ok(performance.now() - t1 < 500, 'no throttle after its run');
  });

  test('the faults chain onto an earlier onBytes hook', async () => {
    const seen: number[] = [];
    const hooks: FaultHooks = { checkpoints: [], onBytes: (n) => void seen.push(n), runs: new Set() };
    const faults = new DeviceFaults();
    faults.install(hooks, { disconnectAll: () => undefined });
    await hooks.onBytes(7);
    assert.deepEqual(seen, [7]);
    assert.equal(faults.counters.bytes, 7);
  });
});

describe('faults seen by idevicebackup2', () => {
  const TOOLS = ['idevicebackup2', 'idevicepair'] as const;
  let te: TestEmulator | undefined;
  let device: VirtualDevice;
  let rt: DeviceRuntime;
  let root = '';

  before(async () => {
    if (missingTools(TOOLS).length > 0) return;
    te = await startTestEmulator({ profile: 'tiny' });
    device = te.emu.devices()[0] as VirtualDevice;
    rt = runtimeOf(device);
    root = join(te.root, 'backups');
    await mkdir(root, { recursive: true });
    await pairWithTool(te, device.udid);
  });

  after(async () => {
    await te?.dispose();
  });

  const fault = async (e: TestEmulator, name: string, params: Record<string, string> = {}): Promise<void> => {
    await e.emu.control({ Action: 'fault', UDID: device.udid, Fault: name, Params: params });
  };
  const backup = (e: TestEmulator): Promise<ToolResult> =>
    e.tool('idevicebackup2', ['-u', device.udid, 'backup', root]);
  const succeeded = async (r: ToolResult, check = true): Promise<void> => {
    assert.match(r.stdout, /Backup Successful\./, r.stdout.slice(-600) + r.stderr.slice(-300));
    if (check) await assertBackupEqualsDevice(join(root, device.udid), rt);
  };

  test('host-full: the run fails with error 105; the next one succeeds', async (t) => {
    if (!requireTools(t, TOOLS) || !te) return;
    await fault(te, 'host-full');
    const r = await backup(te);
    assert.match(r.stdout, /ErrorCode 105: Insufficient free disk space/, r.stdout.slice(-600));
    assert.doesNotMatch(r.stdout, /Backup Successful/);
    await succeeded(await backup(te));
  });

  test('locked phase=moving: the run fails with error 208', async (t) => {
    if (!requireTools(t, TOOLS) || !te) return;
    await te.emu.control({ Action: 'mutate', UDID: device.udid, Change: 'modify', Count: 2 });
    await fault(te, 'locked', { phase: 'moving' });
    const r = await backup(te);
    assert.match(r.stdout, /ErrorCode 208: Device locked/, r.stdout.slice(-600));
    assert.doesNotMatch(r.stdout, /Backup Successful/);
    await succeeded(await backup(te));
  });

  test('stall seconds=2: the host waits, the backup still succeeds', async (t) => {
    if (!requireTools(t, TOOLS) || !te) return;
    await fault(te, 'stall', { seconds: '2', phase: 'removing' });
    const t0 = performance.now();
    const r = await backup(te);
    assert.ok(performance.now() - t0 >= 2000, 'the stall delayed the run');
    await succeeded(r, false);
  });

  test('throttle: the upload takes at least bytes / rate', async (t) => {
    if (!requireTools(t, TOOLS) || !te) return;
    await te.emu.control({ Action: 'mutate', UDID: device.udid, Change: 'add', Count: 3 });
    await fault(te, 'throttle', { mbps: '16' }); // 2 MB/s
    const b0 = rt.faults.counters.bytes;
    const t0 = performance.now();
    const r = await backup(te);
    const ms = performance.now() - t0;
    const bytes = rt.faults.counters.bytes - b0;
    assert.ok(ms >= (bytes / 2_000_000) * 1000 * 0.9, `${bytes} bytes in ${ms} ms`);
    await succeeded(r, false);
    assert.deepEqual(rt.faults.list(), [], 'a throttle lasts one run');
  });

  test('disconnect phase=removing: the host is left waiting; the next run completes', async (t) => {
    if (!requireTools(t, TOOLS) || !te) return;
    const e = te;
    await e.emu.control({ Action: 'mutate', UDID: device.udid, Change: 'delete', Count: 2 });
    await fault(e, 'disconnect', { phase: 'removing' });
    const fired = rt.faults.counters.fired;
    const run = startTool(e, 'idevicebackup2', ['-u', device.udid, 'backup', root]);
    await waitFor(() => rt.faults.counters.fired > fired, 15_000, 'the disconnect fault');
    await new Promise((r) => setTimeout(r, 300));
    run.stop(); // libimobiledevice 1.3 does not notice the closed connection
    const cut = await run.result;
    assert.doesNotMatch(cut.stdout, /Backup Successful/);
    await succeeded(await backup(e));
  });
});
