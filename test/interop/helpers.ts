/**
 * Shared pieces of the interop tests: an in-process virtual iPhone on a temporary state folder,
 * running libimobiledevice's tools against it with a hard time limit, and skipping (or failing,
 * in CI) when those tools are not installed.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Emulator } from '../../src/emulator/emulator.js';
import type { ProfileOverrides } from '../../src/emulator/profile.js';

/** The repository root (for running the CLI from its sources). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Seconds a single tool run may take before `timeout` kills it (SIGTERM, then SIGKILL 2 s later). */
export const TOOL_TIMEOUT_SECONDS = 20;

export interface ToolResult {
  stdout: string;
  stderr: string;
  /** Exit code; 124 when `timeout` stopped the tool, 137 when it had to kill it. */
  code: number;
}

/**
 * Runs a tool under `timeout -k 2 20` with extra environment variables. Never rejects: the
 * libimobiledevice tools often exit 0 on failure, so callers assert on the output.
 */
export function runTool(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ToolResult> {
  return new Promise((done) => {
    execFile(
      'timeout',
      ['-k', '2', String(TOOL_TIMEOUT_SECONDS), cmd, ...args],
      { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        done({ stdout, stderr, code });
      },
    );
  });
}

/** The named programs that are not on PATH. */
export function missingTools(tools: readonly string[]): string[] {
  return tools.filter((t) => spawnSync('sh', ['-c', `command -v "${t}"`], { stdio: 'ignore' }).status !== 0);
}

/** The libimobiledevice tools the interop tests drive. */
export const LIBIMOBILEDEVICE_TOOLS = [
  'idevice_id',
  'ideviceinfo',
  'idevicepair',
  'idevicename',
  'idevicedate',
] as const;

/**
 * True when every tool is installed. Otherwise the test fails when IBACKUP_REQUIRE_INTEROP=1 (CI),
 * and is skipped with a clear message elsewhere; callers return when this is false.
 */
export function requireTools(t: TestContext, tools: readonly string[] = LIBIMOBILEDEVICE_TOOLS): boolean {
  const missing = missingTools(tools);
  if (missing.length === 0) return true;
  const what = `libimobiledevice-utils not installed (missing ${missing.join(', ')})`;
  if (process.env.IBACKUP_REQUIRE_INTEROP === '1') {
    assert.fail(`${what}, and IBACKUP_REQUIRE_INTEROP=1 requires the interop tests to run`);
  }
  t.skip(`${what}: skipping interop test`);
  return false;
}

export interface TestEmulatorOptions {
  /** Reuse this state folder (a restart); default a fresh temporary one. */
  stateDir?: string;
  devices?: number;
  /** Default the `tiny` profile. */
  profile?: string | ProfileOverrides;
  /**
   * Multiplies the phones' modelled delays (passcode prompt, the minute an iOS 16.1+ phone
   * prepares a backup); default TEST_TIME_SCALE so tests do not wait for them.
   */
  timeScale?: number;
}

/** The time scale of test emulators: a phone's minute of preparation takes 60 ms. */
export const TEST_TIME_SCALE = 0.001;

export interface TestEmulator {
  emu: Emulator;
  stateDir: string;
  /** The temporary folder holding the state folder (removed by `dispose`). */
  root: string;
  /** Environment for libimobiledevice tools: USBMUXD_SOCKET_ADDRESS=UNIX:… */
  env: NodeJS.ProcessEnv;
  udids: string[];
  /** Runs a tool against this emulator. */
  tool(cmd: string, args?: readonly string[]): Promise<ToolResult>;
  /** Stops the emulator and starts a new one on the same state folder. */
  restart(): Promise<void>;
  /** Stops the emulator (the state folder stays). */
  stop(): Promise<void>;
  /** Stops the emulator and removes every temporary file. */
  dispose(): Promise<void>;
}

/** Starts an in-process emulator with a `UNIX:` socket in a temporary folder. */
export async function startTestEmulator(opts: TestEmulatorOptions = {}): Promise<TestEmulator> {
  const root = opts.stateDir === undefined ? await mkdtemp(join(tmpdir(), 'ibackup-emu-')) : dirname(opts.stateDir);
  const stateDir = opts.stateDir ?? join(root, 'state');
  const start = (): Promise<Emulator> =>
    Emulator.start({
      stateDir,
      listen: `UNIX:${join(root, 'mux.sock')}`,
      profile: opts.profile ?? 'tiny',
      devices: opts.devices ?? 1,
      timeScale: opts.timeScale ?? TEST_TIME_SCALE,
    });
  let emu: Emulator | undefined = await start();
  const current = (): Emulator => {
    if (!emu) throw new Error('the test emulator is stopped');
    return emu;
  };
  const handle: TestEmulator = {
    get emu() {
      return current();
    },
    stateDir,
    root,
    env: { USBMUXD_SOCKET_ADDRESS: current().socketAddress },
    get udids() {
      return current()
        .devices()
        .map((d) => d.udid);
    },
    tool: (cmd, args = []) => runTool(cmd, args, handle.env),
    async restart() {
      await handle.stop();
      emu = await start();
    },
    async stop() {
      const e = emu;
      emu = undefined;
      if (e) await e.close();
    },
    async dispose() {
      await handle.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
  return handle;
}

/** The top-level `Key: value` lines of `ideviceinfo` output (nested lines start with a space). */
export function parseInfoLines(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    if (line.length === 0 || line.startsWith(' ')) continue;
    const i = line.indexOf(': ');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 2));
    else if (line.endsWith(':')) out.set(line.slice(0, -1), '');
  }
  return out;
}

/** Polls `check` every 25 ms until it is true; fails after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Pairs the host with a device through `idevicepair pair` and checks it said so. */
export async function pairWithTool(te: TestEmulator, udid: string): Promise<void> {
  const r = await te.tool('idevicepair', ['-u', udid, 'pair']);
  assert.match(r.stdout, new RegExp(`SUCCESS: Paired with device ${udid}`), `idevicepair pair: ${r.stdout}${r.stderr}`);
}
