/**
 * The live list of connected devices: follows usbmuxd's attach/detach/paired events, describes
 * each device (identity before trust), starts "Trust This Computer" by itself for a device
 * without a working pairing (like Finder), reads the values of a trusted one, and sends a
 * `devices` snapshot on every change. When usbmuxd cannot be reached, the snapshot says so and
 * the monitor tries again every few seconds.
 */
import type { HostContext } from '../app/context.js';
import { hostDevice, type DeviceSummary } from '../app/describe.js';
import { connectedDeviceIds, type HostDevice } from '../app/device-handle.js';
import { watchDevices, type DeviceEvent } from '../app/devices.js';
import { deviceInfo } from '../app/info.js';
import { findLastBackup } from '../app/last-backup.js';
import { pairDevice } from '../app/pair.js';
import { IbackupError, isIbackupError } from '../errors.js';
import type { DevicesResponse, ErrorView, ServerEvent } from './api.js';
import { deviceView, type DeviceEntry } from './device-view.js';
import { errorView, type Log } from './http-errors.js';
import { busyError, type Job, type JobManager } from './jobs.js';
import { TrustWatch } from './trust-watch.js';

export interface MonitorOptions {
  ctx: HostContext;
  /** Backup roots (the first is where backups go). */
  roots: readonly string[];
  jobs: JobManager;
  publish: (e: ServerEvent) => void;
  log?: Log;
  /** Start the trust flow for a device without a working pairing (default true). */
  autoTrust?: boolean;
  /** How long the trust flow waits for the owner (default 2 minutes). */
  trustTimeoutMs?: number;
  /** Pause before trying usbmuxd again, or a device that could not be read (default 3 s). */
  retryMs?: number;
}

const DETAILS_TIMEOUT_MS = 20_000;
const READY_TIMEOUT_MS = 10_000;

export class DevicesMonitor {
  private readonly entries = new Map<string, DeviceEntry>();
  /** What was known of each phone when it was last unplugged (its page keeps its name and Last Backup when it returns). */
  private readonly departed = new Map<string, DeviceEntry>();
  /** usbmuxd connection number → its summary (a device may be on USB and the network). */
  private readonly conns = new Map<number, DeviceSummary>();
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly stopper = new AbortController();
  private problem: ErrorView | null = null;
  private loop: Promise<void> = Promise.resolve();
  private readonly trustWatch: TrustWatch;

  constructor(private readonly opts: MonitorOptions) {
    this.trustWatch = new TrustWatch(this.stopper.signal, opts.log);
  }

  /** Starts following usbmuxd; resolves once the devices already connected are described (bounded). */
  async start(): Promise<void> {
    let initial: number[] = [];
    try {
      initial = await connectedDeviceIds(this.opts.ctx);
    } catch (err) {
      this.problem = errorView(err, this.opts.log);
    }
    this.loop = this.follow();
    const until = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < until && !initial.every((id) => this.conns.has(id) || this.problem !== null)) await pause(20);
    await within(Promise.all([...this.refreshing.values()]), until - Date.now());
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    await this.loop.catch(() => undefined);
    await within(Promise.all([...this.refreshing.values()]), 5_000);
  }

  snapshot(): DevicesResponse {
    const { jobs } = this.opts;
    const devices = [...this.entries.values()].map((e) =>
      deviceView(e, jobs.runningOn(e.udid), jobs.lastOf(e.udid, 'trust'), jobs.lastOf(e.udid)),
    );
    return { devices, backupDir: this.opts.roots[0] ?? '', problem: this.problem };
  }

  publish(): void {
    const { devices, problem } = this.snapshot();
    this.opts.publish({ type: 'devices', devices, problem });
  }

  /** The connected device, ready to talk to; DEVICE_NOT_FOUND (404) when it is not connected. */
  device(udid: string): HostDevice {
    const e = this.entry(udid);
    return hostDevice(this.opts.ctx, {
      deviceId: e.summary.deviceId,
      udid: e.summary.udid,
      connection: e.summary.connection,
    });
  }

  entry(udid: string): DeviceEntry {
    const e = this.entries.get(normUdid(udid));
    if (!e) {
      throw new IbackupError('DEVICE_NOT_FOUND', {
        message: `The iPhone ${udid} is not connected any more.`,
        remedy: 'Connect it with a USB cable that carries data and unlock it.',
      });
    }
    return e;
  }

  /** Starts the "Trust This Computer" flow as a `trust` job (BUSY when the device runs a job). */
  startTrust(udid: string): Job {
    const device = this.device(udid);
    const busy = this.opts.jobs.runningOn(udid);
    if (busy) throw busyError(busy);
    this.trustWatch.stop(normUdid(udid));
    this.entry(udid).watchedTrust = null;
    return this.opts.jobs.start(this.entry(udid).udid, 'trust', 'waiting-for-trust', async (ctl) => {
      await pairDevice(device, {
        signal: ctl.signal,
        ...(this.opts.trustTimeoutMs === undefined ? {} : { timeoutMs: this.opts.trustTimeoutMs }),
        onEvent: (e) => ctl.progress({ phase: e.type }),
      });
      ctl.progress({ phase: 'trusted' });
      return null;
    });
  }

  /**
   * The phone's backup password was just turned on or off: its values say so from now on, so that
   * no view published before they are read again (the job's end, the backups' refresh) shows the
   * old setting.
   */
  encryptionChanged(udid: string, encryption: boolean): void {
    const e = this.entries.get(normUdid(udid));
    if (e?.info) e.info = { ...e.info, encryption };
  }

  /** A job ended: a trust job changes the pairing; the others may change the device's values. */
  jobEnded(job: Job): void {
    const e = this.entries.get(normUdid(job.udid));
    if (!e) return;
    if (job.kind === 'trust' && job.state === 'done') for (const s of this.summariesOf(e.udid)) s.paired = true;
    if (job.kind === 'trust' && job.state === 'failed' && UNANSWERED.has(codeOf(job.cause))) this.watchTrust(e);
    this.refresh(e.udid);
  }

  /** The trust wait ended unanswered: the phone is still asked, quietly, until it answers. */
  private watchTrust(e: DeviceEntry): void {
    const key = normUdid(e.udid);
    this.trustWatch.start(key, this.device(e.udid), (state) => {
      if (this.entries.get(key) !== e) return;
      e.watchedTrust = state;
      if (state === 'trusted') {
        for (const s of this.summariesOf(e.udid)) s.paired = true;
        e.watchedTrust = null;
        this.refresh(e.udid);
      } else this.publish();
    });
  }

  /** Reads the Last Backup of every device again (backups were made, deleted or archived). */
  async refreshLastBackups(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.readLastBackup(e)));
    this.publish();
  }

  private async follow(): Promise<void> {
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      try {
        await watchDevices(this.opts.ctx, (e) => this.onEvent(e), signal);
      } catch (err) {
        if (signal.aborted) break;
        this.problem = errorView(err, this.opts.log);
        for (const [k, e] of this.entries) this.departed.set(k, e);
        this.entries.clear();
        this.conns.clear();
        this.publish();
      }
      await pause(this.opts.retryMs ?? 3_000, signal);
    }
  }

  private onEvent(ev: DeviceEvent): void {
    const s = ev.device;
    const key = normUdid(s.udid);
    if (this.problem !== null) this.problem = null;
    if (ev.event === 'detached') {
      this.conns.delete(s.deviceId);
      const rest = this.summariesOf(key);
      if (rest.length === 0) {
        const gone = this.entries.get(key);
        if (gone) this.departed.set(key, gone);
        this.entries.delete(key);
        this.trustWatch.stop(key);
        const job = this.opts.jobs.runningOn(s.udid);
        if (job?.kind === 'trust') job.controller.abort();
      } else {
        const e = this.entries.get(key);
        if (e) e.summary = preferred(rest);
      }
      this.publish();
      return;
    }
    this.conns.set(s.deviceId, s);
    const existing = this.entries.get(key);
    // A phone back from a restart (or a replug) shows what was known of it until read again.
    const known = this.departed.get(key);
    this.departed.delete(key);
    const entry: DeviceEntry = existing ?? {
      udid: s.udid,
      summary: s,
      attachedMs: Date.now(),
      info: known?.info ?? null,
      detailsProblem: null,
      lastBackup: known?.lastBackup ?? null,
    };
    entry.summary = preferred(this.summariesOf(key));
    this.entries.set(key, entry);
    this.publish();
    if (
      ev.event === 'attached' &&
      !existing &&
      !entry.summary.paired &&
      this.opts.autoTrust !== false &&
      !this.opts.jobs.runningOn(entry.udid)
    ) {
      try {
        this.startTrust(entry.udid);
      } catch (err) {
        this.opts.log?.(`trust: ${isIbackupError(err) ? err.message : String(err)}`);
      }
      void this.readLastBackup(entry).then(() => this.publish());
      return;
    }
    this.refresh(entry.udid);
  }

  /** Reads Last Backup and, for a trusted device not running a job, its values; then publishes. */
  refresh(udid: string): void {
    const key = normUdid(udid);
    if (this.refreshing.has(key)) {
      this.again.add(key);
      return;
    }
    const run = (async () => {
      try {
        do {
          this.again.delete(key);
          const e = this.entries.get(key);
          if (!e) return;
          await this.readLastBackup(e);
          if (e.summary.paired && !this.opts.jobs.runningOn(e.udid)) await this.readDetails(e);
          this.publish();
        } while (this.again.has(key) && !this.stopper.signal.aborted);
      } finally {
        this.refreshing.delete(key);
      }
    })();
    this.refreshing.set(key, run);
  }

  private async readLastBackup(e: DeviceEntry): Promise<void> {
    const last = await findLastBackup(this.opts.roots, e.udid).catch(() => null);
    e.lastBackup = last ? last.date.toISOString() : null;
  }

  private async readDetails(e: DeviceEntry): Promise<void> {
    const signal = AbortSignal.any([this.stopper.signal, AbortSignal.timeout(DETAILS_TIMEOUT_MS)]);
    try {
      e.info = await deviceInfo(this.device(e.udid), { backupRoots: this.opts.roots, signal });
      e.detailsProblem = null;
    } catch (err) {
      if (this.stopper.signal.aborted) return;
      e.detailsProblem = isIbackupError(err) ? err : new IbackupError('INTERNAL', { cause: err });
      if (!isIbackupError(err)) this.opts.log?.(`reading ${e.udid}: ${String(err)}`);
      if (isIbackupError(err) && err.code === 'NOT_PAIRED') {
        for (const s of this.summariesOf(e.udid)) s.paired = false;
        return;
      }
      this.retryLater(e.udid);
    }
  }

  private retryLater(udid: string): void {
    const key = normUdid(udid);
    if (this.retries.has(key) || this.stopper.signal.aborted) return;
    const t = setTimeout(() => {
      this.retries.delete(key);
      if (this.entries.has(key)) this.refresh(key);
    }, this.opts.retryMs ?? 3_000);
    t.unref();
    this.retries.set(key, t);
  }

  private summariesOf(udid: string): DeviceSummary[] {
    const key = normUdid(udid);
    return [...this.conns.values()].filter((s) => normUdid(s.udid) === key);
  }
}

/** A trust job that ended this way leaves the phone watched (it stayed locked, or nobody answered). */
const UNANSWERED = new Set<string | null>(['DEVICE_LOCKED', 'TIMEOUT', 'TRUST_PENDING']);
const codeOf = (err: unknown): string | null => (isIbackupError(err) ? err.code : null);

const normUdid = (udid: string): string => udid.replace(/-/g, '').toLowerCase();

/** USB over the network; a paired description over one that is not. */
function preferred(list: readonly DeviceSummary[]): DeviceSummary {
  const usb = list.filter((s) => s.connection === 'USB');
  const pick = (usb.length > 0 ? usb : list).slice().sort((a, b) => Number(b.paired) - Number(a.paired))[0];
  if (!pick) throw new Error('preferred: empty list');
  return pick;
}

/** Waits for `p`, at most `ms` (the timer does not outlive it). */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
