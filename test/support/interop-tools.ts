/**
 * libimobiledevice's tools against the virtual iPhone: runs with a hard time limit (stoppable
 * ones too), skipping (or failing, in CI) when the tools are not installed, and reading their output.
 */
import { execFile, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { TestEmulator } from './test-emulator.js';

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

/** Pairs the host with a device through `idevicepair pair` and checks it said so. */
export async function pairWithTool(te: TestEmulator, udid: string): Promise<void> {
  const r = await te.tool('idevicepair', ['-u', udid, 'pair']);
  assert.match(r.stdout, new RegExp(`SUCCESS: Paired with device ${udid}`), `idevicepair pair: ${r.stdout}${r.stderr}`);
}

export interface StoppableRun {
  /** Sends SIGTERM (like Ctrl-C); `timeout -k 2` kills the tool 2 s later if it still runs. */
  stop(): void;
  result: Promise<ToolResult>;
}

/** Runs a tool against the emulator under `timeout -k 2`, stoppable before its time limit. */
export function startTool(te: TestEmulator, cmd: string, args: readonly string[]): StoppableRun {
  let stop = (): void => undefined;
  const result = new Promise<ToolResult>((done) => {
    const child = execFile(
      'timeout',
      ['-k', '2', String(TOOL_TIMEOUT_SECONDS), cmd, ...args],
      { env: { ...process.env, ...te.env }, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        done({ stdout, stderr, code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1 }),
    );
    stop = () => {
      child.kill('SIGTERM');
    };
  });
  return { stop: () => stop(), result };
}
