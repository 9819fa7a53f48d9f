/**
 * Faults a virtual iPhone can show during a backup, to test how a computer copes:
 *
 * - `disconnect bytes=N`: the cable is pulled after N more bytes of backup upload;
 * - `disconnect phase=P`: the cable is pulled when the backup reaches phase P;
 * - `throttle mbps=N`: uploads go no faster than N megabits per second;
 * - `stall seconds=N [phase=P]`: the device stops answering for N seconds at phase P;
 * - `host-full [phase=P]`: the device decides the computer has too little room (MB error 105);
 * - `locked [phase=P]`: the device locks and gives up (MB error 208);
 * - `hostile [attack=A]`: the next mobilebackup2 connection is served by a device that turns
 *   against the computer (services/mobilebackup2/hostile.ts): `paths` (the default) asks for
 *   paths outside the device's folder through every request that names one, the other attacks
 *   send malformed messages. It fires when a computer connects.
 * - `reuse-stale-snapshot`: the next backup run resumes from the computer's Snapshot/ by size
 *   alone, keeping any staged blob of the expected size even when the file changed since it was
 *   staged (the new Manifest.db then names a content or key the blob does not have) — the unsafe
 *   rule a computer must be able to refuse (services/mobilebackup2/resume.ts). It fires when a
 *   backup run plans its resume.
 *
 * Phases are those of the backup script: planning, directories, uploading (also after each
 * upload batch), moving, removing, finished; the default phase is uploading. A fault fires once
 * and is gone (a throttle slows one backup run) unless it was set with `repeat=1`. Set with
 * `ibackup emulator ctl ADDR fault U NAME k=v…`, `device.runtime.faults.set(parseFault(…))`, or
 * listed in a profile's `behaviour.faults` (armed when the device is plugged in).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { IbackupError } from '../errors.js';
import type { FaultSpec, HostileAttack } from './fault-spec.js';
import { Mb2Failure } from './services/mobilebackup2/index.js';

export {
  BACKUP_PHASES,
  FAULT_NAMES,
  HOSTILE_ATTACKS,
  parseFault,
  parseFaultArgs,
  parseProfileFault,
  type BackupPhase,
  type FaultName,
  type FaultSpec,
  type HostileAttack,
  type ProfileFault,
} from './fault-spec.js';

/** What the faults act on: the device's connections and services. */
export interface FaultTarget {
  /** Drops every connection of the device (the cable was pulled). */
  disconnectAll(): void;
  /**
   * Makes the device's mobilebackup2 hostile until the handle is cleared; `served` is called when
   * a computer connects to it. Absent where the device has no such service.
   */
  turnHostile?(attack: HostileAttack, served: () => void): { clear(): void };
}

/** The hooks of a device runtime the faults register with. */
export interface FaultHooks {
  checkpoints: Array<(phase: string) => Promise<void>>;
  onBytes: (n: number) => Promise<void> | void;
  /** Running requests (a stall ends early when they are cancelled). */
  readonly runs: ReadonlySet<AbortController>;
}

/** Time the send queue gets to reach the host before `disconnect bytes=N` pulls the cable. */
const QUEUE_FLUSH_MS = 500;

export const HOST_FULL_DESCRIPTION = 'Insufficient free disk space on drive to back up (MBErrorDomain/105)';
export const LOCKED_DESCRIPTION = 'Device locked (MBErrorDomain/208)';

/** A fault as set, with what it has counted so far. */
interface Armed {
  spec: FaultSpec;
  /** Bytes left before `disconnect bytes=N` fires. */
  left: number;
  /** A throttle slowed the current run. */
  used: boolean;
  /** Takes the fault off the device (a hostile service goes back to the real one). */
  undo?: () => void;
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
    const armed: Armed = { spec, left: 'bytes' in spec ? spec.bytes : 0, used: false };
    if (spec.name === 'hostile') {
      const turn = this.target?.turnHostile;
      if (turn === undefined) {
        throw new IbackupError('USAGE', {
          message: 'This device has no backup service to turn hostile.',
          remedy: 'Attach a device with a content profile.',
        });
      }
      this.drop(this.armed.filter((a) => a.spec.name === spec.name));
      const handle = turn.call(this.target, spec.attack, () => this.fired(armed));
      armed.undo = () => handle.clear();
    } else {
      this.drop(this.armed.filter((a) => a.spec.name === spec.name));
    }
    this.armed.push(armed);
    if (spec.name === 'throttle') this.nextSend = 0;
    return this.list();
  }

  /** Removes every fault and ends any throttle or stall sleeping now. */
  clear(): void {
    this.drop(this.armed);
    this.wake.abort();
    this.wake = new AbortController();
  }

  private drop(gone: readonly Armed[]): void {
    for (const a of gone) a.undo?.();
    this.armed = this.armed.filter((a) => !gone.includes(a));
  }

  list(): FaultSpec[] {
    return this.armed.map((a) => ({ ...a.spec }));
  }

  /** Whether a fault the device consults (rather than one fired at a phase) is set; if so it fires. */
  take(name: 'reuse-stale-snapshot'): boolean {
    const a = this.armed.find((x) => x.spec.name === name);
    if (a === undefined) return false;
    this.fired(a);
    return true;
  }

  private fired(a: Armed): void {
    this.counters.fired++;
    if (!a.spec.repeat) this.drop([a]);
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
