/**
 * The faults a virtual iPhone can be given (see faults.ts for what each does) and the checking of
 * their parameters, shared by `ibackup emulator ctl … fault`, the in-process API and the
 * `behaviour.faults` list of a profile. Nothing here touches a device.
 */
import { IbackupError } from '../errors.js';

export const BACKUP_PHASES = ['planning', 'directories', 'uploading', 'moving', 'removing', 'finished'] as const;
export type BackupPhase = (typeof BACKUP_PHASES)[number];

export const FAULT_NAMES = [
  'disconnect',
  'throttle',
  'stall',
  'host-full',
  'locked',
  'hostile',
  'reuse-stale-snapshot',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** What a hostile device sends (services/mobilebackup2/hostile.ts). */
export const HOSTILE_ATTACKS = ['paths', 'deep-plist', 'huge-frame', 'garbage-frame', 'huge-path-length'] as const;
export type HostileAttack = (typeof HOSTILE_ATTACKS)[number];

export function isHostileAttack(s: string): s is HostileAttack {
  return (HOSTILE_ATTACKS as readonly string[]).includes(s);
}

interface Repeatable {
  /** Stays after firing (default: fires once). */
  repeat: boolean;
}

export type FaultSpec = Repeatable &
  (
    | { name: 'disconnect'; bytes: number }
    | { name: 'disconnect'; phase: BackupPhase }
    | { name: 'throttle'; mbps: number }
    | { name: 'stall'; seconds: number; phase: BackupPhase }
    | { name: 'host-full'; phase: BackupPhase }
    | { name: 'locked'; phase: BackupPhase }
    | { name: 'hostile'; attack: HostileAttack }
    | { name: 'reuse-stale-snapshot' }
  );

export type FaultParamValue = string | number | boolean;

const DEFAULT_PHASE: BackupPhase = 'uploading';
const MAX_SECONDS = 3600;

const ALLOWED: Record<FaultName, readonly string[]> = {
  disconnect: ['bytes', 'phase'],
  throttle: ['mbps'],
  stall: ['seconds', 'phase'],
  'host-full': ['phase'],
  locked: ['phase'],
  hostile: ['attack'],
  'reuse-stale-snapshot': [],
};

const REMEDY =
  'Use: fault U disconnect bytes=N|phase=P, throttle mbps=N, stall seconds=N [phase=P], host-full [phase=P], locked [phase=P], ' +
  `hostile [attack=${HOSTILE_ATTACKS.join('|')}], reuse-stale-snapshot, or clear; add repeat=1 to keep a fault after it fires.`;

function usage(message: string): IbackupError {
  return new IbackupError('USAGE', { message, remedy: REMEDY });
}

function isFaultName(s: string): s is FaultName {
  return (FAULT_NAMES as readonly string[]).includes(s);
}

function isPhase(s: string): s is BackupPhase {
  return (BACKUP_PHASES as readonly string[]).includes(s);
}

/** Splits `k=v` words into parameters. */
export function parseFaultArgs(words: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const i = w.indexOf('=');
    if (i <= 0) throw usage(`"${w}" is not a key=value fault parameter.`);
    out[w.slice(0, i)] = w.slice(i + 1);
  }
  return out;
}

/** Checks a fault's name and parameters. */
export function parseFault(name: string, params: Readonly<Record<string, FaultParamValue>> = {}): FaultSpec {
  if (!isFaultName(name)) throw usage(`Unknown fault "${name}".`);
  for (const k of Object.keys(params)) {
    if (k !== 'repeat' && !ALLOWED[name].includes(k)) throw usage(`The fault ${name} takes no "${k}".`);
  }
  const repeat = flag(params.repeat);
  const num = (k: string, min: number, max: number): number => {
    const v = params[k];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < min || n > max)
      throw usage(`The fault ${name} needs ${k}= a number from ${min} to ${max}.`);
    return n;
  };
  const phase = (): BackupPhase => {
    const v = params.phase;
    if (v === undefined) return DEFAULT_PHASE;
    if (typeof v !== 'string' || !isPhase(v))
      throw usage(`"${String(v)}" is not a backup phase (${BACKUP_PHASES.join(', ')}).`);
    return v;
  };
  switch (name) {
    case 'disconnect':
      if ((params.bytes === undefined) === (params.phase === undefined))
        throw usage('The fault disconnect needs bytes=N or phase=P (one of them).');
      return params.bytes !== undefined
        ? { name, bytes: Math.floor(num('bytes', 0, Number.MAX_SAFE_INTEGER)), repeat }
        : { name, phase: phase(), repeat };
    case 'throttle':
      return { name, mbps: num('mbps', 0.001, 100_000), repeat };
    case 'stall':
      return { name, seconds: num('seconds', 0, MAX_SECONDS), phase: phase(), repeat };
    case 'host-full':
    case 'locked':
      return { name, phase: phase(), repeat };
    case 'reuse-stale-snapshot':
      return { name, repeat };
    case 'hostile': {
      const attack = params.attack ?? 'paths';
      if (typeof attack !== 'string' || !isHostileAttack(attack))
        throw usage(`"${String(attack)}" is not a hostile attack (${HOSTILE_ATTACKS.join(', ')}).`);
      return { name, attack, repeat };
    }
  }
}

/**
 * A fault as a profile lists it in `behaviour.faults`: either the words of `ctl fault`
 * ("throttle mbps=50 repeat=1") or an object with its name and parameters
 * ({"name": "throttle", "mbps": 50, "repeat": true}).
 */
export type ProfileFault = string | ({ name: string } & Record<string, FaultParamValue>);

/** Checks a profile's fault entry (throws IbackupError USAGE). */
export function parseProfileFault(f: unknown): FaultSpec {
  if (typeof f === 'string') {
    const [name = '', ...words] = f.trim().split(/\s+/);
    return parseFault(name, parseFaultArgs(words));
  }
  if (typeof f !== 'object' || f === null || Array.isArray(f))
    throw usage('A fault must be a string like "throttle mbps=50" or an object like {"name": "throttle", "mbps": 50}.');
  const { name, ...rest } = f as Record<string, unknown>;
  if (typeof name !== 'string') throw usage('A fault object needs "name": the fault.');
  const params: Record<string, FaultParamValue> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      throw usage(`The fault ${name}: "${k}" must be a string, number or true/false.`);
    params[k] = v;
  }
  return parseFault(name, params);
}

function flag(v: FaultParamValue | undefined): boolean {
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (s === '1' || s === 'true' || s === 'yes') return true;
  if (s === '0' || s === 'false' || s === 'no') return false;
  throw usage(`repeat=${String(v)}: use repeat=1 or repeat=0.`);
}
