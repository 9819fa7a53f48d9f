/**
 * Against the distribution's real usbmuxd daemon (no iPhone attached): ibackup finds it at the
 * default address, lists no device, ReadBUID and Listen work, and doctor tells "no device" from
 * "usbmuxd not running". The daemon is started here in the foreground and always stopped.
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsbmuxClient } from '../../src/host/usbmux.js';
import { cliEnv, json, runCli } from '../support/bench.js';
import { missingTools } from '../support/interop-tools.js';

const SOCKET = '/var/run/usbmuxd';

interface Check {
  id: string;
  ok: boolean;
  message: string;
  remedy: string;
}

/** True when something accepts connections on the socket. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(path)) {
      resolve(false);
      return;
    }
    const s = connect({ path });
    const t = setTimeout(() => done(false), 1000);
    const done = (v: boolean): void => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Skips (or fails under IBACKUP_REQUIRE_INTEROP=1) when usbmuxd is not installed. */
function requireUsbmuxd(t: TestContext): boolean {
  if (missingTools(['usbmuxd']).length === 0 || existsSync('/usr/sbin/usbmuxd')) return true;
  const message = 'usbmuxd is not installed (Debian/Ubuntu package "usbmuxd"): skipping the real-daemon test';
  if (process.env.IBACKUP_REQUIRE_INTEROP === '1') assert.fail(`${message}; IBACKUP_REQUIRE_INTEROP=1 demands it`);
  t.skip(message);
  return false;
}

let daemon: ChildProcess | undefined;
let daemonLog = '';

async function stopDaemon(): Promise<void> {
  const d = daemon;
  daemon = undefined;
  if (!d || d.exitCode !== null || d.signalCode !== null) return;
  const exited = new Promise<void>((r) => d.once('exit', () => r()));
  d.kill('SIGTERM');
  const killer = setTimeout(() => d.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

after(stopDaemon);

describe('the real usbmuxd daemon', () => {
  test('devices, ReadBUID, Listen and doctor against it; doctor once it is stopped', async (t) => {
    if (!requireUsbmuxd(t)) return;
    if (await answers(SOCKET)) {
      t.skip(`another usbmuxd already owns ${SOCKET}: skipping so as not to disturb it`);
      return;
    }
    const program = existsSync('/usr/sbin/usbmuxd') ? '/usr/sbin/usbmuxd' : 'usbmuxd';
    daemon = spawn(program, ['-f', '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout?.on('data', (c: Buffer) => (daemonLog += c.toString()));
    daemon.stderr?.on('data', (c: Buffer) => (daemonLog += c.toString()));
    const host = await mkdtemp(join(tmpdir(), 'ibackup-real-mux-'));
    try {
      const until = Date.now() + 10_000;
      while (!(await answers(SOCKET))) {
        if (daemon.exitCode !== null || Date.now() > until) {
          const message = `usbmuxd did not start listening on ${SOCKET}: ${daemonLog}`;
          if (process.env.IBACKUP_REQUIRE_INTEROP === '1') assert.fail(message);
          t.skip(message);
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const env = cliEnv(join(host, 'config'), join(host, 'backups'));

      // The default address, no option: ibackup finds the system daemon.
      const list = await runCli(['--json', 'devices'], env);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(json(list.stdout), { devices: [] });

      const mux = new UsbmuxClient({ address: { kind: 'unix', path: SOCKET }, timeoutMs: 5000 });
      assert.match(await mux.readBuid(), /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
      const ac = new AbortController();
      const events: unknown[] = [];
      const listening = mux.listen((e) => events.push(e), ac.signal);
      await new Promise((r) => setTimeout(r, 300));
      ac.abort();
      await listening; // Result 0, then no events: nothing attached
      assert.deepEqual(events, []);

      const doctor = await runCli(['--json', 'doctor'], env);
      assert.equal(doctor.code, 1);
      const checks = json<{ checks: Check[] }>(doctor.stdout).checks;
      assert.equal(checks.find((c) => c.id === 'usbmuxd')?.ok, true, doctor.stdout);
      const device = checks.find((c) => c.id === 'device');
      assert.equal(device?.ok, false);
      assert.match(device.message, /No iPhone is connected/);

      await stopDaemon();
      const stopped = await runCli(['--json', 'doctor'], env);
      assert.equal(stopped.code, 1);
      const muxCheck = json<{ checks: Check[] }>(stopped.stdout).checks.find((c) => c.id === 'usbmuxd');
      assert.equal(muxCheck?.ok, false);
      assert.match(muxCheck.message, /installed but not running/);
      assert.match(muxCheck.remedy, /systemctl start usbmuxd/);
      assert.match(muxCheck.remedy, /usbmuxd -f/);
    } finally {
      await stopDaemon();
      await rm(host, { recursive: true, force: true });
    }
  });
});
