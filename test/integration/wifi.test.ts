/**
 * Backups over Wi-Fi against the virtual iPhone behind its usbmuxd: "Show this iPhone when on
 * Wi-Fi" set through lockdown and kept by the phone, the phone then listed with ConnectionType
 * Network; a phone reached only over Wi-Fi is backed up with the pairing made over USB; the same
 * phone on USB and Wi-Fi gets one run, over USB; a Wi-Fi link that goes silent mid-run ends the
 * run through the heartbeat (no hang) with the last complete backup whole, and the phone is backed
 * up when it is back.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findLastBackup } from '../../src/app/last-backup.js';
import { verifyBackupAt } from '../../src/app/verify.js';
import { Watcher, type WatchEvent } from '../../src/app/watch.js';
import { selectDevice } from '../../src/app/select-device.js';
import { setWifi, wifiStatus } from '../../src/app/wifi.js';
import { parseFault } from '../../src/emulator/faults.js';
import { json, pairedDevice, startBench, type Bench } from '../support/bench.js';
import { waitFor } from '../support/wait.js';

/** A small phone: a few dozen files, so that each backup takes a moment. */
const SMALL = { extends: 'tiny' as const, content: { files: 30, bytes: 256 * 1024 } };

function startWatcher(b: Bench, events: WatchEvent[]) {
  const watcher = new Watcher({
    ctx: b.ctx,
    root: b.backupDir,
    policy: async () => ({ enabled: true, everyMs: 200 }),
    parallel: 2,
    lastBackup: async (udid) => (await findLastBackup([b.backupDir], udid))?.date ?? null,
    onEvent: (e) => events.push(e),
    retryMs: 3_600_000,
    tickMs: 3_600_000,
    progressEveryMs: 0,
    // The phone sends a Marco every 10 ms here (its time scale); 2 s of silence is unmistakable, even on a busy machine.
    linkGuard: { silenceMs: () => 2000 },
  });
  const ac = new AbortController();
  const running = watcher.run(ac.signal);
  return { watcher, stop: async () => (ac.abort(), await running) };
}

const of = (events: readonly WatchEvent[], kind: string, udid: string): WatchEvent[] =>
  events.filter((e) => e.event === kind && 'udid' in e && e.udid === udid);

describe('Wi-Fi backups', () => {
  test('wifi on lists the phone over Wi-Fi; USB and Wi-Fi: one run over USB; Wi-Fi only; a silent link', async () => {
    const b = await startBench({ profile: SMALL });
    const udid = b.te.udids[0] as string;
    const events: WatchEvent[] = [];
    let w: ReturnType<typeof startWatcher> | undefined;
    try {
      await pairedDevice(b, udid);
      const on = await b.cli(['--json', 'wifi', 'on']);
      assert.equal(on.code, 0, on.stderr);
      assert.deepEqual(json(on.stdout), { udid, wifi: true, connection: 'USB' });
      const listed = json<{ devices: { udid: string; connection: string }[] }>(
        (await b.cli(['--json', 'devices'])).stdout,
      );
      assert.deepEqual(listed.devices.map((d) => d.connection).sort(), ['Network', 'USB']);
      assert.ok(listed.devices.every((d) => d.udid === udid));

      // On USB and Wi-Fi at once: one run, over USB.
      w = startWatcher(b, events);
      await waitFor(() => of(events, 'completed', udid).length === 1, 30_000, 'a backup');
      assert.deepEqual(
        of(events, 'started', udid).map((e) => (e.event === 'started' ? e.connection : '')),
        ['USB'],
      );

      // The cable out: still listed over Wi-Fi, and backed up there when due (every 200 ms here).
      b.te.emu.detach(udid);
      await new Promise((r) => setTimeout(r, 250));
      await w.watcher.tick();
      await waitFor(() => of(events, 'completed', udid).length === 2, 30_000, 'a backup over Wi-Fi');
      const second = of(events, 'started', udid)[1];
      assert.equal(second?.event === 'started' ? second.connection : '', 'Network');
      const lastComplete = await findLastBackup([b.backupDir], udid);

      // Out of range mid-run: the link goes silent (nothing closes); the heartbeat ends the run.
      await new Promise((r) => setTimeout(r, 250));
      const from = events.length;
      const network = b.te.emu.networkDevices()[0];
      network?.device.runtime?.faults.set(parseFault('throttle', { mbps: 2 }));
      await w.watcher.tick();
      await waitFor(
        () => events.slice(from).some((e) => e.event === 'progress' && e.phase === 'backing-up' && e.filesDone > 0),
        30_000,
        'files flowing over Wi-Fi',
      );
      const silentAt = Date.now();
      b.te.emu.wifi(udid, 'silent');
      await waitFor(() => of(events.slice(from), 'failed', udid).length === 1, 15_000, 'the run ends');
      assert.ok(Date.now() - silentAt < 10_000, 'ended by the heartbeat, not a long timeout');
      const failed = of(events.slice(from), 'failed', udid)[0];
      assert.equal(failed?.event === 'failed' ? failed.error.code : '', 'CONNECTION_CLOSED');
      assert.match(failed?.event === 'failed' ? failed.error.message : '', /Wi-Fi/);
      const kept = await findLastBackup([b.backupDir], udid);
      assert.equal(kept?.date.toISOString(), lastComplete?.date.toISOString(), 'the last complete backup is unchanged');
      assert.ok((await verifyBackupAt(kept?.path as string)).ok);

      // Back in range (it left the network and joins again): backed up, nothing lost.
      b.te.emu.wifi(udid, 'leave');
      b.te.emu.wifi(udid, 'join');
      await waitFor(() => of(events, 'completed', udid).length === 3, 30_000, 'a backup when it is back');
      const last = await findLastBackup([b.backupDir], udid);
      assert.ok((await verifyBackupAt(last?.path as string)).ok);
    } finally {
      await w?.stop();
      await b.dispose();
    }
  });

  test('the setting is kept by the phone across a restart of the virtual iPhone', async () => {
    const b = await startBench();
    const udid = b.te.udids[0] as string;
    try {
      const device = await pairedDevice(b, udid);
      assert.deepEqual(await setWifi(device, true), { udid, wifi: true, connection: 'USB' });
      await b.te.restart();
      const again = await selectDevice(b.ctx, udid);
      assert.equal((await wifiStatus(again)).wifi, true);
      assert.equal(b.te.emu.networkDevices().length, 1);
      assert.equal((await setWifi(again, false)).wifi, false);
      await waitFor(() => b.te.emu.networkDevices().length === 0, 2000, 'the Wi-Fi entry gone');
    } finally {
      await b.dispose();
    }
  });
});
