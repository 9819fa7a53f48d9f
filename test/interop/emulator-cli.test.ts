/**
 * `ibackup emulator start` and `ibackup emulator ctl` as separate processes: the address line,
 * TCP and unix listening, usage errors, clean stops on SIGINT/SIGTERM, and hotplug seen by
 * idevice_id and by a usbmuxd Listen client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSocketAddress } from '../../src/transport/address.js';
import { connectSocket } from '../../src/transport/connect.js';
import { RawMuxClient } from '../support/raw-mux-client.js';
import { REPO_ROOT } from '../support/repo-root.js';
import { requireTools, runTool, type ToolResult } from '../support/interop-tools.js';
import { waitFor } from '../support/wait.js';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const START_TIMEOUT_MS = 60_000;

interface RunningCli {
  child: ChildProcess;
  firstLine: string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `ibackup emulator start ARGS` and waits (bounded) for its first stdout line. */
async function startCli(args: readonly string[]): Promise<RunningCli> {
  const child = spawn(process.execPath, [...CLI, 'emulator', 'start', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const firstLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no address line within ${START_TIMEOUT_MS} ms; stderr: ${err}`)),
      START_TIMEOUT_MS,
    );
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited (${code}) before printing its address; stderr: ${err}`));
    });
  }).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
  return { child, firstLine, stderr: () => err, exited };
}

/** Sends a signal and waits (bounded) for the exit; kills it if it hangs. */
async function stopCli(
  cli: RunningCli,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (cli.child.exitCode !== null) return cli.exited;
  cli.child.kill(signal);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), 30_000);
  try {
    return await cli.exited;
  } finally {
    clearTimeout(timer);
  }
}

function cliRun(args: readonly string[]): Promise<ToolResult> {
  return runTool(
    process.execPath,
    [...CLI, ...args].map((a) => (a === 'src/cli/main.ts' ? join(REPO_ROOT, a) : a)),
  );
}

async function ctlJson(address: string, args: readonly string[]): Promise<unknown> {
  const r = await cliRun(['emulator', 'ctl', address, ...args]);
  assert.equal(r.code, 0, `ctl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

interface ListedDevice {
  udid: string;
  deviceId: number;
  name: string;
}

function idList(r: ToolResult): string[] {
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

async function refusesConnections(address: string): Promise<boolean> {
  try {
    const s = await connectSocket(parseSocketAddress(address), { timeoutMs: 2_000 });
    s.destroy();
    return false;
  } catch {
    return true;
  }
}

describe('ibackup emulator start/ctl as processes', { concurrency: true }, () => {
  let dir: string;
  const running = new Set<RunningCli>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ibackup-cli-'));
  });
  after(async () => {
    for (const cli of running)
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  test('TCP: address line, ctl list/attach/detach, idevice_id and Listen events, SIGINT stops it', async (t) => {
    const cli = await startCli(['--listen', '127.0.0.1:0', '--state', join(dir, 'tcp'), '--profile', 'tiny']);
    running.add(cli);
    const m = /^USBMUXD_SOCKET_ADDRESS=127\.0\.0\.1:(\d+)$/.exec(cli.firstLine);
    assert.ok(m, `first line: ${cli.firstLine}`);
    assert.ok(Number(m[1]) > 0);
    const address = `127.0.0.1:${m[1]}`;
    await waitFor(() => /virtual iPhone attached: .*UDID /.test(cli.stderr()), 5_000, 'the attached line on stderr');

    const listed = (await ctlJson(address, ['list'])) as { devices: ListedDevice[] };
    assert.equal(listed.devices.length, 1);
    const [first] = listed.devices as [ListedDevice];
    assert.match(first.udid, /^[0-9A-F]{8}-[0-9A-F]{16}$/);

    const listener = await RawMuxClient.connect(address);
    try {
      const tag = listener.send({ MessageType: 'Listen' });
      const ok = await listener.next();
      assert.equal(ok.tag, tag);
      assert.ok(ok.kind === 'plist' && ok.payload.MessageType === 'Result' && ok.payload.Number === 0);
      const present = await listener.nextPlist();
      assert.equal(present.MessageType, 'Attached');
      assert.equal(present.DeviceID, first.deviceId);

      const tools = requireTools(t, ['idevice_id']);
      const env = { USBMUXD_SOCKET_ADDRESS: address };
      if (tools) assert.deepEqual(idList(await runTool('idevice_id', ['-l'], env)), [first.udid]);

      const attached = ((await ctlJson(address, ['attach'])) as { attached: ListedDevice }).attached;
      assert.notEqual(attached.udid, first.udid);
      const ev1 = await listener.nextPlist();
      assert.equal(ev1.MessageType, 'Attached');
      assert.equal(ev1.DeviceID, attached.deviceId);
      const props = ev1.Properties;
      assert.ok(props !== null && typeof props === 'object' && 'SerialNumber' in props);
      assert.equal(props.SerialNumber, attached.udid);
      if (tools) assert.deepEqual(idList(await runTool('idevice_id', ['-l'], env)), [first.udid, attached.udid].sort());

      const detached = (await ctlJson(address, ['detach', attached.udid])) as { detached: string };
      assert.equal(detached.detached, attached.udid);
      const ev2 = await listener.nextPlist();
      assert.deepEqual(ev2, { MessageType: 'Detached', DeviceID: attached.deviceId });
      if (tools) assert.deepEqual(idList(await runTool('idevice_id', ['-l'], env)), [first.udid]);
      const after = (await ctlJson(address, ['list'])) as { devices: ListedDevice[] };
      assert.deepEqual(
        after.devices.map((d) => d.udid),
        [first.udid],
      );
    } finally {
      listener.destroy();
    }

    const exit = await stopCli(cli, 'SIGINT');
    assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
    assert.ok(await refusesConnections(address), 'nothing listens after the stop');
  });

  test('default: a unix socket in the state folder, SIGTERM stops it and removes the socket', async () => {
    const state = join(dir, 'unix');
    const cli = await startCli(['--state', state, '--profile', 'tiny']);
    running.add(cli);
    const sockPath = join(state, 'usbmuxd.sock');
    assert.equal(cli.firstLine, `USBMUXD_SOCKET_ADDRESS=UNIX:${sockPath}`);
    assert.ok(existsSync(sockPath));
    const listed = (await ctlJson(`UNIX:${sockPath}`, ['list'])) as { devices: ListedDevice[] };
    assert.equal(listed.devices.length, 1);
    const exit = await stopCli(cli, 'SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
    assert.ok(!existsSync(sockPath) || (await refusesConnections(`UNIX:${sockPath}`)), 'the socket is gone');
  });

  test('--listen with a bare path is a usage error (exit 2) that shows the UNIX: form', async () => {
    const r = await cliRun([
      'emulator',
      'start',
      '--listen',
      join(dir, 'bare.sock'),
      '--state',
      join(dir, 'bare'),
      '--profile',
      'tiny',
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      new RegExp(`Write it as UNIX:${join(dir, 'bare.sock').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
  });

  test('ctl on an address where nothing listens fails with a clear message', async () => {
    const r = await cliRun(['emulator', 'ctl', `UNIX:${join(dir, 'nobody.sock')}`, 'list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No emulator answers at/);
  });
});
