/**
 * Choosing the device a command works on: the one named by -u, the only one connected, or — on a
 * terminal, when several are connected and none was named — the one the user picks from a
 * numbered list.
 */
import { createInterface } from 'node:readline/promises';
import type { HostContext } from '../app/context.js';
import { hostDevice } from '../app/describe.js';
import type { HostDevice } from '../app/device-handle.js';
import { findDevice, type DeviceChoice } from '../app/select-device.js';
import { IbackupError, isIbackupError } from '../errors.js';
import { canPrompt, type GlobalOptions } from './globals.js';

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
