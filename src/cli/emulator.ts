/** `ibackup emulator start|ctl`: run the virtual iPhone and drive it. */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseSocketAddress } from '../app/listen-address.js';
import type { sendControl } from '../emulator/ctl-client.js';
import type { Emulator } from '../emulator/emulator.js';
import { parseFaultArgs } from '../emulator/faults.js';
import { validTimeScale } from '../emulator/profile-schema.js';
import { IbackupError } from '../errors.js';
import { printJson } from './output.js';
import { stateHome } from './xdg.js';

/** A control request as the running emulator reads it. */
type ControlRequest = Parameters<typeof sendControl>[1];

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateHome(env), 'ibackup', 'emulator');
}

interface StartOptions {
  listen?: string;
  state?: string;
  profile?: string;
  ios?: string;
  devices?: string;
  timeScale?: string;
}

/** `--devices N`: a whole number from 0 to 64. */
function parseDeviceCount(text: string | undefined): number {
  const devices = Number(text ?? '1');
  if (!Number.isInteger(devices) || devices < 0 || devices > 64) {
    throw new IbackupError('USAGE', {
      message: `--devices must be a whole number from 0 to 64, not "${text}".`,
    });
  }
  return devices;
}

/** Resolves once Ctrl-C or SIGTERM has closed the emulator. */
function closeOnSignal(emulator: Emulator): Promise<void> {
  return new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void emulator.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `emulator start`: prints the address once the socket accepts connections, runs until stopped. */
async function start(opts: StartOptions): Promise<void> {
  const devices = parseDeviceCount(opts.devices);
  const timeScale = opts.timeScale === undefined ? undefined : parseTimeScale(opts.timeScale);
  const stateDir = resolve(opts.state ?? defaultStateDir());
  const { Emulator } = await import('../emulator/emulator.js');
  const emulator = await Emulator.start({
    stateDir,
    ...(opts.listen === undefined ? {} : { listen: parseSocketAddress(opts.listen) }),
    ...(opts.profile === undefined ? {} : { profile: opts.profile }),
    ...(opts.ios === undefined ? {} : { ios: opts.ios }),
    ...(timeScale === undefined ? {} : { timeScale }),
    devices,
  });
  process.stdout.write(`USBMUXD_SOCKET_ADDRESS=${emulator.socketAddress}\n`);
  for (const d of emulator.devices()) {
    const s = emulator.summary(d);
    process.stderr.write(`virtual iPhone attached: ${s.name} (${s.productType}, iOS ${s.iosVersion}) UDID ${s.udid}\n`);
  }
  await closeOnSignal(emulator);
}

export function registerEmulator(program: Command): void {
  const emu = program
    .command('emulator')
    .description('the virtual iPhone: a usbmuxd-compatible server with virtual devices');

  emu
    .command('start')
    .description('run virtual iPhone(s); the first stdout line is USBMUXD_SOCKET_ADDRESS=<address>')
    .option('--listen <addr>', 'UNIX:/path or host:port (default UNIX:<state>/usbmuxd.sock)')
    .option('--state <dir>', 'state folder (pairings, device keys); default $XDG_STATE_HOME/ibackup/emulator')
    .option('--profile <name|file.json>', 'tiny, typical, big, or a JSON profile', 'typical')
    .option('--ios <X.Y>', 'iOS version the devices report')
    .option('--devices <n>', 'how many devices to attach', '1')
    .option(
      '--time-scale <x>',
      "multiply the phones' modelled delays (passcode prompt, preparation): 0.01 runs 100 times faster",
    )
    .action(start);

  emu
    .command('ctl')
    .description('drive a running emulator; prints JSON')
    .argument('<addr>', 'the address the emulator printed (UNIX:/path or host:port)')
    .argument(
      '<action>',
      'list | attach [U] | detach U | trust U MODE [SECS] | passcode U MODE [SECS] | mutate U CHANGE N | fault U NAME [k=v…] | fault U clear | cancel U | lock U | unlock U | restart U | wifi U join|leave|silent',
    )
    .argument('[args...]', "the action's arguments")
    .option('--profile <name|file.json>', 'profile for attach')
    .action(async (addr: string, action: string, args: string[], opts: { profile?: string }) => {
      const { sendControl } = await import('../emulator/ctl-client.js');
      printJson(await sendControl(addr, ctlRequest(action, args, opts.profile)));
    });
}

/** Turns `ctl` arguments into the control request. */
export function ctlRequest(action: string, args: string[], profile?: string): ControlRequest {
  const need = (n: number, usage: string): void => {
    if (args.length < n) throw new IbackupError('USAGE', { message: `Usage: ibackup emulator ctl ADDR ${usage}` });
  };
  switch (action) {
    case 'list':
      return { Action: 'list' };
    case 'attach':
      return {
        Action: 'attach',
        ...(profile === undefined ? {} : { Profile: profile }),
        ...(args[0] === undefined ? {} : { UDID: args[0] }),
      };
    case 'detach':
    case 'cancel':
    case 'lock':
    case 'unlock':
    case 'restart':
      need(1, `${action} UDID`);
      return { Action: action, UDID: args[0] as string };
    case 'trust':
    case 'passcode': {
      need(2, `${action} UDID MODE [SECS]`);
      const req: ControlRequest = { Action: action, UDID: args[0] as string, Mode: args[1] as string };
      if (args[2] !== undefined) req.Seconds = Number(args[2]);
      return req;
    }
    case 'wifi':
      need(2, 'wifi UDID join|leave|silent');
      return { Action: 'wifi', UDID: args[0] as string, Mode: args[1] as string };
    case 'mutate':
      need(3, 'mutate UDID add|modify|delete|rename|photos|messages N');
      return { Action: 'mutate', UDID: args[0] as string, Change: args[1] as string, Count: Number(args[2]) };
    case 'fault':
      need(2, 'fault UDID disconnect|throttle|stall|host-full|locked|hostile [k=v…] | fault UDID clear');
      return {
        Action: 'fault',
        UDID: args[0] as string,
        Fault: args[1] as string,
        Params: parseFaultArgs(args.slice(2)),
      };
    default:
      throw new IbackupError('USAGE', {
        message: `Unknown emulator action "${action}".`,
        remedy: 'Use list, attach, detach, trust, passcode, mutate, fault, cancel, lock, unlock, restart or wifi.',
      });
  }
}

/** `--time-scale X`: a number above 0, at most 1000. */
export function parseTimeScale(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !validTimeScale(n)) {
    throw new IbackupError('USAGE', {
      message: `--time-scale must be a number above 0 and at most 1000, not "${text}".`,
      remedy: "For example --time-scale 0.01 runs the phone's waits 100 times faster.",
    });
  }
  return n;
}
