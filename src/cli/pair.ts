/**
 * `ibackup pair [--check]` / `ibackup unpair`: "Trust This Computer". While the phone waits for
 * the owner, a spinner on a terminal, plain lines otherwise, NDJSON events on stderr with --json.
 */
import type { Command } from 'commander';
import type { Ora } from 'ora';
import pc from 'picocolors';
import { DEFAULT_TRUST_TIMEOUT_MS, checkPairing, pairDevice, unpairDevice, type PairEvent } from '../app/pair.js';
import { IbackupError } from '../errors.js';
import type { GlobalOptions } from './globals.js';
import { EXIT_FAILED, ndjson, printJson } from './output.js';
import { withDevice, type DeviceRun } from './with-device.js';

const TEXT: Record<PairEvent['type'], string> = {
  'waiting-for-trust': 'Tap "Trust" on the iPhone, then enter its passcode…',
  locked: 'The iPhone is locked: unlock it to see "Trust This Computer?"…',
  trusted: 'Trusted. Saving the pairing…',
};

/** Renders pair events: spinner on a TTY, plain stderr lines otherwise, NDJSON with --json. */
async function eventRenderer(g: GlobalOptions): Promise<{ onEvent: (e: PairEvent) => void; stop: () => void }> {
  if (g.json) return { onEvent: (e) => ndjson(process.stderr, { event: e.type, udid: e.udid }), stop: () => undefined };
  if (g.quiet) return { onEvent: () => undefined, stop: () => undefined };
  // A terminal that reports no width (some pseudo-terminals) gets plain lines: a spinner there
  // cannot tell how many lines to redraw.
  if (process.stderr.isTTY !== true || !(process.stderr.columns >= 20)) {
    return { onEvent: (e) => process.stderr.write(`${TEXT[e.type]}\n`), stop: () => undefined };
  }
  // Loaded only for a spinner (it costs every command's start-up otherwise).
  const { default: ora } = await import('ora');
  let spinner: Ora | undefined;
  return {
    onEvent: (e) => {
      if (e.type === 'trusted') {
        spinner?.succeed('Trusted.');
        spinner = undefined;
        return;
      }
      // The decision to animate is made above (a TTY with a width); ora's own check would also
      // go silent whenever a CI variable is set, and the owner would never see what to do.
      if (spinner) spinner.text = TEXT[e.type];
      else spinner = ora({ stream: process.stderr, text: TEXT[e.type], isEnabled: true }).start();
    },
    stop: () => spinner?.stop(),
  };
}

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TRUST_TIMEOUT_MS;
  const secs = Number(text);
  if (!Number.isFinite(secs) || secs <= 0 || secs > 3600) {
    throw new IbackupError('USAGE', {
      message: `--timeout must be a number of seconds from 1 to 3600, not "${text}".`,
    });
  }
  return secs * 1000;
}

interface PairFlags {
  check?: boolean;
  timeout?: string;
  force?: boolean;
}

/** `pair --check`: is a pairing stored, and does the iPhone accept it? Exit 1 when not. */
async function showPairing({ g, signal, device }: DeviceRun): Promise<void> {
  const r = await checkPairing(device, signal);
  if (g.json) printJson(r);
  else if (r.paired)
    process.stdout.write(
      `Paired with ${r.udid}: the pairing is stored${r.source === 'usbmuxd' ? ' in usbmuxd' : ''} and the iPhone accepts it.\n`,
    );
  else process.stdout.write(`Not paired with ${r.udid}: ${r.problem?.message ?? ''}\n${r.problem?.remedy ?? ''}\n`);
  if (!r.paired) process.exitCode = EXIT_FAILED;
}

/** `pair`: "Trust This Computer", with the owner guided while the iPhone waits. */
async function pair({ g, signal, device }: DeviceRun, timeoutMs: number, force: boolean): Promise<void> {
  const render = await eventRenderer(g);
  try {
    const r = await pairDevice(device, {
      timeoutMs,
      signal,
      onEvent: render.onEvent,
      ...(force ? { force: true } : {}),
    });
    if (g.json) printJson(r);
    else if (r.alreadyPaired) process.stdout.write(`Already paired with ${r.udid}.\n`);
    else process.stdout.write(`${pc.green('Paired')} with ${r.udid}.\n`);
  } finally {
    render.stop();
  }
}

/** `unpair`: the iPhone forgets this computer and the pairing is deleted. */
async function unpair({ g, signal, device }: DeviceRun): Promise<void> {
  const r = await unpairDevice(device, signal);
  if (g.json) printJson(r);
  else if (!r.wasPaired) process.stdout.write(`This computer was not paired with ${r.udid}.\n`);
  else
    process.stdout.write(
      `Unpaired ${r.udid}${r.deviceForgot ? '' : ' (the iPhone had already forgotten this computer)'}.\n`,
    );
}

export function registerPair(program: Command): void {
  program
    .command('pair')
    .description('"Trust This Computer": pair with the iPhone (tap Trust on it); --check only verifies')
    .option('--check', 'check that a stored pairing exists and the iPhone accepts it (exit 1 if not)')
    .option('--timeout <secs>', 'how long to wait for "Trust" to be tapped', String(DEFAULT_TRUST_TIMEOUT_MS / 1000))
    .option('--force', 'pair again even if a working pairing exists')
    .action(async (opts: PairFlags, cmd: Command) => {
      const timeoutMs = parseTimeout(opts.timeout);
      await withDevice(cmd, (run) => (opts.check ? showPairing(run) : pair(run, timeoutMs, opts.force === true)));
    });

  program
    .command('unpair')
    .description('make the iPhone forget this computer and delete the pairing')
    .action(async (_opts: unknown, cmd: Command) => {
      await withDevice(cmd, unpair);
    });
}
