/**
 * Faults a virtual iPhone can show during a backup, to test how a computer copes:
 *
 * - `disconnect bytes=N`: the cable is pulled after N more bytes of backup upload;
 * - `disconnect phase=P`: the cable is pulled when the backup reaches phase P;
 * - `throttle mbps=N`: uploads go no faster than N megabits per second;
 * - `stall seconds=N [phase=P]`: the device stops answering for N seconds at phase P;
 * - `host-full [phase=P]`: the device decides the computer has too little room (MB error 105);
 * - `locked [phase=P]`: the device locks and gives up (MB error 208).
 *
 * Phases are those of the backup script: planning, directories, uploading (also after each
 * upload batch), moving, removing, finished; the default phase is uploading. A fault fires once
 * and is gone (a throttle slows one backup run) unless it was set with `repeat=1`. Set with
 * `ibackup emulator ctl ADDR fault U NAME k=v…` or `device.runtime.faults.set(parseFault(…))`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { IbackupError } from '../errors.js';
import { Mb2Failure } from './services/mobilebackup2/index.js';

export const BACKUP_PHASES = ['planning', 'directories', 'uploading', 'moving', 'removing', 'finished'] as const;
export type BackupPhase = (typeof BACKUP_PHASES)[number];

export const FAULT_NAMES = ['disconnect', 'throttle', 'stall', 'host-full', 'locked'] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

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
  );

/** What the faults act on: the device's connections. */
export interface FaultTarget {
  /** Drops every connection of the device (the cable was pulled). */
  disconnectAll(): void;
}

/** The hooks of a device runtime the faults register with. */
export interface FaultHooks {
  checkpoints: Array<(phase: string) => Promise<void>>;
  onBytes: (n: number) => Promise<void> | void;
  /** Running requests (a stall ends early when they are cancelled). */
  readonly runs: ReadonlySet<AbortController>;
}

type ParamValue = string | number | boolean;

const DEFAULT_PHASE: BackupPhase = 'uploading';
const MAX_SECONDS = 3600;
/** Time the send queue gets to reach the host before `disconnect bytes=N` pulls the cable. */
const QUEUE_FLUSH_MS = 500;

export const HOST_FULL_DESCRIPTION = 'Insufficient free disk space on drive to back up (MBErrorDomain/105)';
export const LOCKED_DESCRIPTION = 'Device locked (MBErrorDomain/208)';

function usage(message: string): IbackupError {
  return new IbackupError('USAGE', {
    message,
    remedy: 'Use: fault U disconnect bytes=N|phase=P, throttle mbps=N, stall seconds=N [phase=P], host-full [phase=P], locked [phase=P], or clear; add repeat=1 to keep a fault after it fires.',
  });
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
export function parseFault(name: string, params: Readonly<Record<string, ParamValue>> = {}): FaultSpec {
  if (!isFaultName(name)) throw usage(`Unknown fault "${name}".`);
  const allowed: Record<FaultName, readonly string[]> = {
    disconnect: ['bytes', 'phase'],
    throttle: ['mbps'],
    stall: ['seconds', 'phase'],
    'host-full': ['phase'],
    locked: ['phase'],
  };
  for (const k of Object.keys(params)) {
    if (k !== 'repeat' && !allowed[name].includes(k)) throw usage(`The fault ${name} takes no "${k}".`);
  }
  const repeat = flag(params.repeat);
  const num = (k: string, min: number, max: number): number => {
    const v = params[k];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) throw usage(`The fault ${name} needs ${k}= a number from ${min} to ${max}.`);
    return n;
  };
  const phase = (): BackupPhase => {
    const v = params.phase;
    if (v === undefined) return DEFAULT_PHASE;
    if (typeof v !== 'string' || !isPhase(v)) throw usage(`"${String(v)}" is not a backup phase (${BACKUP_PHASES.join(', ')}).`);
    return v;
  };
  switch (name) {
    case 'disconnect':
      if ((params.bytes === undefined) === (params.phase === undefined)) throw usage('The fault disconnect needs bytes=N or phase=P (one of them).');
      return params.bytes !== undefined ? { name, bytes: Math.floor(num('bytes', 0, Number.MAX_SAFE_INTEGER)), repeat } : { name, phase: phase(), repeat };
    case 'throttle':
      return { name, mbps: num('mbps', 0.001, 100_000), repeat };
    case 'stall':
      return { name, seconds: num('seconds', 0, MAX_SECONDS), phase: phase(), repeat };
    case 'host-full':
    case 'locked':
      return { name, phase: phase(), repeat };
  }
}

function flag(v: ParamValue | undefined): boolean {
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (s === '1' || s === 'true' || s === 'yes') return true;
  if (s === '0' || s === 'false' || s === 'no') return false;
  throw usage(`repeat=${String(v)}: use repeat=1 or repeat=0.`);
}

/** A fault as set, with what it has counted so far. */
interface Armed {
  spec: FaultSpec;
  /** Bytes left before `disconnect bytes=N` fires. */
  left: number;
  /** A throttle slowed the current run. */
  used: boolean;
}

/** Counters of what the device uploaded during backups. */
export interface UploadCounters {
  /** Bytes of backup upload since the device was attached (file data, Status and manifests). */
  bytes: number;
  /** Backup runs that reached the planning phase. */
  runs: number;
  /** Faults that fired. */
  fired: number;
}

/** The faults of one device, and counters of its backup uploads. */
export class DeviceFaults {
  readonly counters: UploadCounters = { bytes: 0, runs: 0, fired: 0 };
  private armed: Armed[] = [];
  private target: FaultTarget | undefined;
  private runs: ReadonlySet<AbortController> = new Set();
  /** Ends the sleeps of throttles and stalls when the faults are cleared. */
  private wake = new AbortController();
  /** When the throttle lets the next bytes go (ms, performance clock). */
  private nextSend = 0;

  constructor(initial: readonly FaultSpec[] = []) {
    for (const f of initial) this.set(f);
  }

  /** Registers with a device's backup hooks (once per device). */
  install(hooks: FaultHooks, target: FaultTarget): void {
    this.target = target;
    this.runs = hooks.runs;
    hooks.checkpoints.push((phase) => this.atPhase(phase));
    const before = hooks.onBytes;
    hooks.onBytes = async (n) => {
      await before(n);
      await this.afterBytes(n);
    };
  }

  /** Adds a fault (replacing one of the same name); returns the faults now set. */
  set(spec: FaultSpec): FaultSpec[] {
    this.armed = this.armed.filter((a) => a.spec.name !== spec.name);
    this.armed.push({ spec, left: 'bytes' in spec ? spec.bytes : 0, used: false });
    if (spec.name === 'throttle') this.nextSend = 0;
    return this.list();
  }

  /** Removes every fault and ends any throttle or stall sleeping now. */
  clear(): void {
    this.armed = [];
    this.wake.abort();
    this.wake = new AbortController();
  }

  list(): FaultSpec[] {
    return this.armed.map((a) => ({ ...a.spec }));
  }

  private fired(a: Armed): void {
    this.counters.fired++;
    if (!a.spec.repeat) this.armed = this.armed.filter((x) => x !== a);
  }

  private throttleDone(a: Armed): void {
    a.used = false;
    this.fired(a);
  }

  private pullCable(): never {
    this.target?.disconnectAll();
    throw new IbackupError('CONNECTION_CLOSED', { message: 'The virtual iPhone was disconnected (fault).' });
  }

  private async atPhase(phase: string): Promise<void> {
    if (phase === 'planning') {
      this.counters.runs++;
      this.nextSend = 0;
      // A throttle that slowed a run that did not finish has done its work too.
      for (const a of this.armed.filter((x) => x.spec.name === 'throttle' && x.used)) this.throttleDone(a);
    }
    for (const a of [...this.armed]) {
      if (!this.armed.includes(a)) continue;
      const spec = a.spec;
      if (spec.name === 'throttle') {
        if (phase === 'finished' && a.used) this.throttleDone(a);
        continue;
      }
      if (!('phase' in spec) || spec.phase !== phase) continue;
      this.fired(a);
      switch (spec.name) {
        case 'disconnect':
          this.pullCable();
          break;
        case 'stall':
          await this.pause(spec.seconds * 1000);
          break;
        case 'host-full':
          throw new Mb2Failure(105, HOST_FULL_DESCRIPTION);
        case 'locked':
          throw new Mb2Failure(208, LOCKED_DESCRIPTION);
      }
    }
  }

  private async afterBytes(n: number): Promise<void> {
    this.counters.bytes += n;
    for (const a of [...this.armed]) {
      const spec = a.spec;
      if (spec.name === 'disconnect' && 'bytes' in spec) {
        a.left -= n;
        if (a.left <= 0) {
          a.left = spec.bytes;
          this.fired(a);
          // What the device already handed to its connection goes out before the cable is
          // pulled (the send queue holds megabytes; on a real cable little is in flight).
          await this.pause(QUEUE_FLUSH_MS);
          this.pullCable();
        }
      } else if (spec.name === 'throttle') {
        a.used = true;
        const now = performance.now();
        const start = Math.max(now, this.nextSend);
        this.nextSend = start + (n * 8) / (spec.mbps * 1000);
        await this.pause(this.nextSend - now);
      }
    }
  }

  /** Sleeps, ending early when the faults are cleared or a running request is cancelled. */
  private async pause(ms: number): Promise<void> {
    if (ms <= 0) return;
    const running = [...this.runs].map((r) => r.signal);
    await sleep(ms, undefined, { signal: AbortSignal.any([this.wake.signal, ...running]) }).catch(() => undefined);
    const cancelled = running.find((s) => s.aborted);
    if (cancelled) throw cancelled.reason instanceof Error ? cancelled.reason : new Error('cancelled');
  }
}
