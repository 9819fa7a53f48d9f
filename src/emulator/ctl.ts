/**
 * The control actions of a running emulator, received over its usbmuxd socket as the private
 * MessageType (see `ibackup emulator ctl`). Each returns a JSON-able result.
 */
import { IbackupError } from '../errors.js';
import { isPlistDict, type PlistDict, type PlistValue } from '../protocol/plist/index.js';
import type { Emulator } from './emulator.js';
import type { PasscodeBehaviour, TrustBehaviour } from './profile-types.js';
import { MUTATION_ACTIONS, type MutationAction } from './content/index.js';
import { parseFault } from './faults.js';
import { scaledMs } from './ios-generations.js';
import type { HostileFault } from './services/mobilebackup2/hostile.js';

function isMutation(s: string): s is MutationAction {
  return (MUTATION_ACTIONS as readonly string[]).includes(s);
}

/** The actions `ibackup emulator ctl` knows, with their arguments. */
export const CTL_ACTIONS = [
  'list',
  'attach',
  'detach',
  'trust',
  'passcode',
  'mutate',
  'fault',
  'cancel',
  'lock',
  'unlock',
  'restart',
  'wifi',
] as const;
export type CtlAction = (typeof CTL_ACTIONS)[number];

/** Seconds a restart keeps the phone away (scaled by its time scale), as after a restore. */
const RESTART_SECONDS = 1;

export async function runControl(emu: Emulator, req: PlistDict): Promise<unknown> {
  const action = str(req.Action, 'Action');
  switch (action) {
    case 'list':
      return { devices: emu.devices().map((d) => emu.summary(d)) };
    case 'attach': {
      // With a UDID: plugs back a phone unplugged earlier, with its state (a new one without).
      const profile = optStr(req.Profile);
      const udid = optStr(req.UDID);
      const d = await emu.attach({
        ...(profile === undefined ? {} : { profile }),
        ...(udid === undefined ? {} : { udid }),
      });
      return { attached: emu.summary(d) };
    }
    case 'detach': {
      const d = emu.find(str(req.UDID, 'UDID'));
      emu.detach(d.udid);
      return { detached: d.udid };
    }
    case 'trust': {
      const d = emu.find(str(req.UDID, 'UDID'));
      d.setTrust(parseTrust(str(req.Mode, 'Mode'), req.Seconds));
      return { device: emu.summary(d) };
    }
    case 'passcode': {
      const d = emu.find(str(req.UDID, 'UDID'));
      d.passcode = parsePasscode(str(req.Mode, 'Mode'), req.Seconds);
      return { device: emu.summary(d) };
    }
    case 'mutate':
      return mutate(emu, req);
    case 'fault':
      return fault(emu, req);
    case 'cancel': {
      // The owner taps Cancel on the phone's sync screen.
      const d = emu.find(str(req.UDID, 'UDID'));
      if (!d.runtime)
        throw usage('This device has no backup service to cancel.', 'Attach a device with a content profile.');
      return { device: d.udid, cancelled: d.runtime.cancelOnPhone() };
    }
    case 'lock':
    case 'unlock': {
      // The screen locks or unlocks. A run already going on is not affected: on iOS 18 the backup
      // goes on after the phone locks once the passcode was entered (libimobiledevice issue 1601);
      // for earlier versions no report says otherwise. New pairings and backup services refuse a
      // locked phone (device.ts).
      const d = emu.find(str(req.UDID, 'UDID'));
      d.locked = action === 'lock';
      return { device: emu.summary(d), locked: d.locked };
    }
    case 'restart':
      return restart(emu, req);
    case 'wifi': {
      // The phone joins or leaves the computer's Wi-Fi network, or goes out of range (silent).
      const d = emu.find(str(req.UDID, 'UDID'));
      const mode = str(req.Mode, 'Mode');
      if (mode !== 'join' && mode !== 'leave' && mode !== 'silent')
        throw usage(`Unknown Wi-Fi change "${mode}".`, 'Use join, leave or silent.');
      emu.wifi(d.udid, mode);
      return { device: emu.summary(d) };
    }
    default:
      throw usage(`Unknown control action "${action}".`, `Use one of: ${CTL_ACTIONS.join(', ')}.`);
  }
}

/** Changes the device's content as time on a phone would (added, modified, deleted files). */
async function mutate(emu: Emulator, req: PlistDict): Promise<unknown> {
  const d = emu.find(str(req.UDID, 'UDID'));
  const what = str(req.Change, 'Change');
  const n = typeof req.Count === 'number' ? req.Count : Number(req.Count);
  if (!d.runtime) throw usage('This device has no content to change.', 'Attach a device with a content profile.');
  if (!isMutation(what)) throw usage(`Unknown change "${what}".`, `Use one of: ${MUTATION_ACTIONS.join(', ')}.`);
  const summary = await d.runtime.mutate(what, n);
  return {
    device: d.udid,
    added: summary.added.length,
    modified: summary.modified.length,
    deleted: summary.deleted.length,
    summary,
  };
}

/** Sets a fault (or clears them all) and reports the device's faults and counters. */
function fault(emu: Emulator, req: PlistDict): unknown {
  const d = emu.find(str(req.UDID, 'UDID'));
  if (!d.runtime)
    throw usage('This device has no backup service to disturb.', 'Attach a device with a content profile.');
  const name = str(req.Fault, 'Fault');
  const params = isPlistDict(req.Params) ? req.Params : {};
  const flat: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(params))
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') flat[k] = v;
  if (name === 'clear') d.runtime.faults.clear();
  else d.runtime.faults.set(parseFault(name, flat));
  const hostile = d.runtime.hostile;
  return {
    device: d.udid,
    faults: d.runtime.faults.list(),
    uploaded: { ...d.runtime.faults.counters },
    ...(hostile === undefined ? {} : { hostile: hostileReport(hostile) }),
  };
}

/**
 * The phone restarts: its connections drop and it comes back with the same state; what only
 * lived in memory (an iOS 15 run's leftover snapshot) is gone.
 */
async function restart(emu: Emulator, req: PlistDict): Promise<unknown> {
  const d = emu.find(str(req.UDID, 'UDID'));
  const again = await emu.reboot(d.udid, scaledMs(RESTART_SECONDS, d.profile.behaviour.timeScale));
  return { restarted: again === undefined ? d.udid : emu.summary(again) };
}

/** What the host answered a hostile device: counts, and each request it carried out. */
function hostileReport(h: HostileFault): Record<string, unknown> {
  return {
    attack: h.attack,
    answers: h.answers.length,
    refused: h.answers.filter((a) => a.code !== 0).length,
    obeyed: h.answers.filter((a) => a.code === 0).map((a) => `${a.request} ${a.path}`),
    leaked: [...h.leaked],
    stillServing: h.stillServing ?? null,
  };
}

export function parseTrust(mode: string, seconds: PlistValue | undefined): TrustBehaviour {
  switch (mode) {
    case 'accept':
    case 'deny':
    case 'locked':
      return { mode };
    case 'pending':
      return { mode, seconds: secs(seconds) };
    default:
      throw usage(`Unknown trust mode "${mode}".`, 'Use accept, deny, locked or pending SECS.');
  }
}

export function parsePasscode(mode: string, seconds: PlistValue | undefined): PasscodeBehaviour {
  switch (mode) {
    case 'enter':
    case 'never':
      return { mode };
    case 'after':
      return { mode, seconds: secs(seconds) };
    default:
      throw usage(`Unknown passcode mode "${mode}".`, 'Use enter, never or after SECS.');
  }
}

function secs(v: PlistValue | undefined): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 86_400)
    throw usage('A number of seconds (0 to 86400) is needed.', 'For example: pending 5.');
  return n;
}

function str(v: PlistValue | undefined, what: string): string {
  if (typeof v !== 'string' || v.length === 0)
    throw usage(`The control request has no ${what}.`, 'See "ibackup emulator ctl --help".');
  return v;
}

function optStr(v: PlistValue | undefined): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function usage(message: string, remedy: string): IbackupError {
  return new IbackupError('USAGE', { message, remedy });
}
