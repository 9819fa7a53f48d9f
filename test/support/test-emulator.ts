/**
 * An in-process virtual iPhone on a temporary state folder, for the integration, interop and e2e
 * tests: its usbmuxd on a `UNIX:` socket, restartable on the same state, removed when disposed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Emulator } from '../../src/emulator/emulator.js';
import type { ProfileOverrides } from '../../src/emulator/profile.js';
import { runTool, type ToolResult } from './interop-tools.js';

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

/** A small device whose encrypted backups derive their key quickly (DPIC 1000). */
export const FAST_PROFILE = { extends: 'tiny' as const, behaviour: { keyDerivationIterations: 1000 } };

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
