/**
 * What the device commands share: the global options, the host context they build, Ctrl-C as
 * an AbortSignal, and choosing the device — with a numbered prompt on a terminal when several
 * are connected and none was named.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { backupRoot, openHost, type HostContext } from '../app/context.js';
import type { DeviceChoice } from '../app/select-device.js';
import { findDevice } from '../app/select-device.js';
import { hostDevice } from '../app/describe.js';
import { IbackupError, isIbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import type { GlobalOptions } from './program.js';

export function globalsOf(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function hostContextOf(g: GlobalOptions): HostContext {
  return openHost(g.usbmuxd === undefined ? {} : { usbmuxd: g.usbmuxd });
}

/** Backup roots from --backup-dir / IBACKUP_BACKUP_DIR / the OS default (the chosen one first). */
export function backupRootsOf(g: GlobalOptions): string[] {
  return backupRoot(g.backupDir === undefined ? {} : { backupDir: g.backupDir }).candidates;
}

/** An AbortSignal that fires on Ctrl-C or SIGTERM (the handlers go away with `dispose`). */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** True when we may ask the user something (a terminal on both ends, not --json). */
export function canPrompt(g: GlobalOptions): boolean {
  return g.json !== true && process.stdin.isTTY === true && process.stderr.isTTY === true;
}

function isChoice(v: unknown): v is DeviceChoice {
  return typeof v === 'object' && v !== null && typeof (v as { udid?: unknown }).udid === 'string';
}

/** Asks which device to use: a numbered list on stderr, the answer from stdin. */
export async function promptForDevice(list: readonly DeviceChoice[]): Promise<string> {
  process.stderr.write('Several devices are connected:\n');
  list.forEach((c, i) => {
    const label = [c.name ?? '(no name)', c.model, c.connection].filter((x) => x !== null).join(', ');
    process.stderr.write(`  ${i + 1}) ${label} — ${c.udid}\n`);
  });
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`Which one (1-${list.length})? `)).trim();
    const n = Number(answer);
    const picked = Number.isInteger(n) ? list[n - 1] : undefined;
    if (!picked)
      throw new IbackupError('USAGE', {
        message: `"${answer}" is not one of 1-${list.length}.`,
        remedy: 'Run the command again and type a number from the list, or use -u UDID.',
      });
    return picked.udid;
  } finally {
    rl.close();
  }
}

/** The device named by -u, the only one connected, or the one the user picks on a terminal. */
export async function chooseDevice(ctx: HostContext, g: GlobalOptions, signal?: AbortSignal): Promise<HostDevice> {
  try {
    return hostDevice(ctx, await findDevice(ctx, g.udid, signal));
  } catch (err) {
    if (!isIbackupError(err) || err.code !== 'MULTIPLE_DEVICES' || !canPrompt(g)) throw err;
    const raw = err.details.devices;
    const list = Array.isArray(raw) ? raw.filter(isChoice) : [];
    if (list.length === 0) throw err;
    const udid = await promptForDevice(list);
    return hostDevice(ctx, await findDevice(ctx, udid, signal));
  }
}

/** Decimal units, as Finder shows sizes ("128 GB"). */
export function humanBytes(n: number | null): string {
  if (n === null) return 'unknown';
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** One NDJSON line on a stream. */
export function ndjson(stream: NodeJS.WritableStream, value: unknown): void {
  stream.write(`${JSON.stringify(value)}\n`);
}
