/**
 * Running the `ibackup` CLI from its sources against an in-process virtual iPhone, with private
 * config and backup folders so nothing touches this computer's real pairings or backups.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupDevice, type BackupResult } from '../../src/app/backup.js';
import { openHost, type HostContext } from '../../src/app/context.js';
import { pairDevice } from '../../src/app/pair.js';
import { selectDevice } from '../../src/app/select-device.js';
import type { HostDevice } from '../../src/host/device.js';
import { REPO_ROOT } from './repo-root.js';
import { startTestEmulator, type TestEmulator, type TestEmulatorOptions } from './test-emulator.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A virtual iPhone plus private folders for the host side. */
export interface Bench {
  te: TestEmulator;
  /** XDG_CONFIG_HOME for the CLI (ibackup's own pair records go under it). */
  configHome: string;
  backupDir: string;
  /** `--usbmuxd` value. */
  address: string;
  /** The host context the app functions use (own folder in configHome, no system folders). */
  ctx: HostContext;
  /** Runs `ibackup --usbmuxd ADDR ARGS…` (killed after `timeoutMs`, default 30 s). */
  cli(args: readonly string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** Starts the CLI and returns the child (for streaming commands). */
  spawnCli(args: readonly string[]): ChildProcess;
  dispose(): Promise<void>;
}

export function cliEnv(configHome: string, backupDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: configHome,
    IBACKUP_BACKUP_DIR: backupDir,
    NO_COLOR: '1',
  };
  delete env.USBMUXD_SOCKET_ADDRESS;
  delete env.FORCE_COLOR;
  return env;
}

/** Runs the CLI from source with a hard time limit; never rejects. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args],
      { env, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, cwd: REPO_ROOT },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 124;
        done({ code, stdout, stderr });
      },
    );
  });
}

export async function startBench(opts: TestEmulatorOptions = {}): Promise<Bench> {
  const te = await startTestEmulator(opts);
  const host = await mkdtemp(join(tmpdir(), 'ibackup-host-'));
  const configHome = join(host, 'config');
  const backupDir = join(host, 'backups');
  const address = te.emu.socketAddress;
  const env = cliEnv(configHome, backupDir);
  const ctx = openHost({
    usbmuxd: address,
    ownDir: join(configHome, 'ibackup', 'lockdown'),
    systemDirs: [],
    timeoutMs: 5_000,
  });
  return {
    te,
    configHome,
    backupDir,
    address,
    ctx,
    cli: (args, o = {}) => runCli(['--usbmuxd', address, ...args], { ...env, ...(o.env ?? {}) }, o.timeoutMs),
    spawnCli: (args) =>
      spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), '--usbmuxd', address, ...args], {
        env,
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    async dispose() {
      await te.dispose();
      await rm(host, { recursive: true, force: true });
    },
  };
}

/** Parses one JSON document, failing the test with the text when it is not JSON. */
export function json<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON: ${text}`);
  }
}

export interface ErrorDoc {
  error: { code: string; message: string; remedy: string };
}

/** The bench's device, trusted by this computer through ibackup's own pairing (the CLI's records). */
export async function pairedDevice(bench: Bench, udid: string): Promise<HostDevice> {
  const device = await selectDevice(bench.ctx, udid);
  await pairDevice(device, {});
  return device;
}

/** A backup made in-process into `root`. */
export function backupInto(device: HostDevice, root: string, full = false): Promise<BackupResult> {
  return backupDevice(device, { root, ...(full ? { full: true } : {}) });
}
