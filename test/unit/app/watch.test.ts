/**
 * The watcher's decisions with a scripted usbmuxd and scripted backups (no phone): the policy
 * (recent, off, untrusted), at most `parallel` at once with the others queued in order, a phone on
 * USB and Wi-Fi run once over USB, a queued phone unplugged leaves the queue, a phone busy in
 * another process is tried again later, a failure is retried after the delay or when the phone
 * returns, and a lost usbmuxd is followed again.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostContext } from '../../../src/app/context.js';
import type { BackupResult } from '../../../src/app/backup.js';
import { Watcher, type BackupFn, type WatchEvent } from '../../../src/app/watch.js';
import { IbackupError } from '../../../src/errors.js';
import type { MuxDeviceInfo, MuxEvent } from '../../../src/host/usbmux.js';

const DAY = 86_400_000;

/** A usbmuxd whose Listen the test drives; `drop()` ends the current Listen as a lost usbmuxd. */
function fakeMux() {
  let emit: ((e: MuxEvent) => void) | undefined;
  let fail: ((err: unknown) => void) | undefined;
  let listens = 0;
  const mux = {
    listen: (onEvent: (e: MuxEvent) => void, signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        listens++;
        emit = onEvent;
        fail = reject;
        signal?.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
  return {
    mux,
    attach: (deviceId: number, udid: string, connection: 'USB' | 'Network' = 'USB') =>
      emit?.({ type: 'attached', device: { deviceId, udid, connection } }),
    detach: (deviceId: number) => emit?.({ type: 'detached', deviceId }),
    paired: (deviceId: number) => emit?.({ type: 'paired', deviceId }),
    drop: () => fail?.(new IbackupError('USBMUXD_UNREACHABLE')),
    listens: () => listens,
  };
}

/** Backups that finish when the test says so. */
function scriptedBackups() {
  const pending = new Map<string, { resolve: () => void; reject: (e: unknown) => void; info: MuxDeviceInfo }>();
  const started: string[] = [];
  const backup: BackupFn = (device, o) =>
    new Promise<BackupResult>((resolve, reject) => {
      started.push(`${device.udid}/${device.info.connection}`);
      o.onProgress({ phase: 'preparing', bytesDone: 0, filesDone: 0 });
      const done = (): void =>
        resolve({
          udid: device.udid,
          path: `/b/${device.udid}`,
          date: new Date().toISOString(),
          full: true,
        } as BackupResult);
      pending.set(device.udid, { resolve: done, reject, info: device.info });
      o.signal.addEventListener('abort', () => reject(new IbackupError('CANCELLED')), { once: true });
    });
  return { backup, started, pending };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await tick();
}

function setup(opts: { trusted?: string[]; off?: string[]; last?: Record<string, number>; parallel?: number } = {}) {
  const m = fakeMux();
  const b = scriptedBackups();
  const events: WatchEvent[] = [];
  let now = 10 * DAY;
  const ctx = {
    mux: m.mux,
    records: { read: async (udid: string) => ((opts.trusted ?? [udid]).includes(udid) ? { record: {} } : null) },
  } as unknown as HostContext;
  const watcher = new Watcher({
    ctx,
    root: '/b',
    policy: async (udid) => ({ enabled: !(opts.off ?? []).includes(udid), everyMs: DAY }),
    parallel: opts.parallel ?? 2,
    onEvent: (e) => events.push(e),
    now: () => new Date(now),
    backup: b.backup,
    retryMs: 600_000,
    tickMs: 3_600_000,
    reconnectMs: 1,
    lastBackup: async (udid) => (opts.last?.[udid] === undefined ? null : new Date(opts.last[udid] as number)),
  });
  const ac = new AbortController();
  const run = watcher.run(ac.signal);
  running.push(async () => (ac.abort(), await run));
  const kinds = (udid: string): string[] =>
    events.filter((e) => 'udid' in e && e.udid === udid && e.event !== 'progress').map((e) => e.event);
  return {
    m,
    b,
    events,
    watcher,
    kinds,
    advance: (ms: number) => (now += ms),
    stop: async () => (ac.abort(), await run),
  };
}

const running: (() => Promise<unknown>)[] = [];

describe('Watcher', () => {
  afterEach(async () => {
    // A test that failed half-way still stops its watcher.
    for (const stop of running.splice(0)) await stop();
  });

  test('the policy: a recent backup, auto off and an untrusted phone are skipped; a due one runs', async () => {
    const s = setup({ trusted: ['A', 'B', 'D'], off: ['B'], last: { A: 10 * DAY - 3_600_000, D: 8 * DAY } });
    s.m.attach(1, 'A');
    s.m.attach(2, 'B');
    s.m.attach(3, 'C');
    s.m.attach(4, 'D');
    await settle();
    const reason = (u: string): string | undefined => {
      const e = s.events.find((x) => x.event === 'skipped' && x.udid === u);
      return e?.event === 'skipped' ? e.reason : undefined;
    };
    assert.deepEqual(['A', 'B', 'C'].map(reason), ['recent', 'auto-off', 'not-paired']);
    assert.deepEqual(s.b.started, ['D/USB']);
    // A falls due 23 hours later, while still connected: the next look starts it.
    s.advance(23 * 3_600_000 + 1);
    await s.watcher.tick();
    await settle();
    assert.deepEqual(s.b.started, ['D/USB', 'A/USB']);
    await s.stop();
  });

  test('at most `parallel` at once, the others in order; an unplugged waiting phone leaves the queue', async () => {
    const s = setup({ parallel: 2 });
    for (const [i, u] of ['A', 'B', 'C', 'D'].entries()) s.m.attach(i + 1, u);
    await settle();
    assert.deepEqual(s.b.started, ['A/USB', 'B/USB']);
    assert.deepEqual(s.watcher.snapshot().queued, ['C', 'D']);
    s.m.detach(3);
    await settle();
    assert.deepEqual(s.watcher.snapshot().queued, ['D']);
    s.b.pending.get('A')?.resolve();
    await settle();
    assert.deepEqual(s.b.started, ['A/USB', 'B/USB', 'D/USB']);
    assert.deepEqual(s.kinds('A'), ['attached', 'queued', 'started', 'completed']);
    await s.stop();
    assert.deepEqual(s.kinds('B').slice(-1), ['failed'], 'stopping cancels the runs under way');
  });

  test('USB and Wi-Fi: one run, over USB, whichever entry came first', async () => {
    const s = setup();
    s.m.attach(7, 'A', 'Network');
    s.m.attach(8, 'A', 'USB');
    await settle();
    assert.deepEqual(s.b.started, ['A/USB']);
    await s.stop();
  });

  test('busy in another process: skipped, tried again after the delay; a failure: again when it returns', async () => {
    const s = setup();
    const busy: BackupFn = async () => {
      throw new IbackupError('BUSY', { message: 'another ibackup is using this iPhone' });
    };
    const real = s.b.backup;
    let first = true;
    (s.watcher as unknown as { opts: { backup: BackupFn } }).opts.backup = (d, o) =>
      first ? ((first = false), busy(d, o)) : real(d, o);
    s.m.attach(1, 'A');
    await settle();
    assert.deepEqual(s.kinds('A'), ['attached', 'queued', 'skipped']);
    await s.watcher.tick();
    assert.deepEqual(s.b.started, [], 'not before the delay');
    s.advance(600_001);
    await s.watcher.tick();
    await settle();
    assert.deepEqual(s.b.started, ['A/USB']);
    // Pulled out mid-run: failed; back in: at once (the delay does not apply to a return).
    s.m.detach(1);
    await settle();
    assert.equal(s.kinds('A').at(-1), 'failed');
    s.m.attach(2, 'A');
    await settle();
    assert.deepEqual(s.b.started, ['A/USB', 'A/USB']);
    await s.stop();
  });

  test('usbmuxd lost: an event, then Listen again; phones it lists again are considered anew', async () => {
    const s = setup({ trusted: [] });
    s.m.attach(1, 'A');
    await settle();
    s.m.drop();
    await settle();
    assert.ok(s.events.some((e) => e.event === 'usbmuxd' && !e.connected));
    assert.equal(s.m.listens(), 2);
    s.m.drop();
    await settle();
    assert.equal(s.events.filter((e) => e.event === 'usbmuxd').length, 1, 'said once while it stays away');
    assert.equal(s.m.listens(), 3);
    s.m.attach(5, 'A');
    s.m.paired(5);
    await settle();
    assert.equal(s.events.filter((e) => e.event === 'skipped').length, 3, 'looked at again after each');
    await s.stop();
  });
});
