/**
 * The opening every long-running command shares: the global options, Ctrl-C as an AbortSignal,
 * the host context and the chosen device, a progress renderer — and the clean-up in every case.
 * A command says what it does with them; this module says how they are set up and taken down.
 */
import type { Command } from 'commander';
import type { HostContext } from '../app/context.js';
import type { HostDevice } from '../app/device-handle.js';
import { chooseDevice } from './device-choice.js';
import { globalsOf, hostContextOf, type GlobalOptions } from './globals.js';
import { interruptSignal } from './interrupt.js';
import { progressRenderer, type ProgressRenderer } from './progress.js';
import { workRenderer, type WorkRenderer } from './work-progress.js';

/** What a device command works with. */
export interface DeviceRun {
  g: GlobalOptions;
  ctx: HostContext;
  signal: AbortSignal;
  device: HostDevice;
  /** Backup and restore progress; stopped when the command ends. */
  progress: ProgressRenderer;
}

/** What a command on a backup on disk works with. */
export interface WorkRun {
  g: GlobalOptions;
  signal: AbortSignal;
  /** Verify or extract progress; stopped when the command ends. */
  progress: WorkRenderer;
}

/** Runs `work` with Ctrl-C and SIGTERM as its signal; the handlers go away afterwards. */
export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { signal, dispose } = interruptSignal();
  try {
    return await work(signal);
  } finally {
    dispose();
  }
}

/** Chooses the device (-u, the only one, or asks) and runs `work` on it under Ctrl-C. */
export async function withDevice<T>(cmd: Command, work: (run: DeviceRun) => Promise<T>): Promise<T> {
  const g = globalsOf(cmd);
  const ctx = hostContextOf(g);
  const progress = progressRenderer({ json: g.json === true, quiet: g.quiet === true });
  try {
    return await withInterrupt(async (signal) =>
      work({ g, ctx, signal, device: await chooseDevice(ctx, g, signal), progress }),
    );
  } finally {
    progress.stop();
  }
}

/** Runs `work` on a backup on disk under Ctrl-C, with a work-progress renderer. */
export async function withWork<T>(cmd: Command, work: (run: WorkRun) => Promise<T>): Promise<T> {
  const g = globalsOf(cmd);
  const progress = workRenderer({ json: g.json === true, quiet: g.quiet === true });
  try {
    return await withInterrupt((signal) => work({ g, signal, progress }));
  } finally {
    progress.stop();
  }
}
