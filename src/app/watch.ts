/**
 * `ibackup watch`: backs up each trusted phone when it connects (USB or Wi-Fi) if its automatic
 * backup is on and its last complete backup is older than its period, as iTunes syncs on connect.
 * Several phones run at once up to `parallel`, the others wait in a queue; a phone listed twice
 * (USB and Wi-Fi) is one phone, reached over USB when it can be; a phone unplugged mid-run ends
 * that run like any interruption (the last complete backup stays whole) and is backed up again
 * when it returns. One run per phone across processes comes from the lock every backup takes.
 * Nothing here prints: every step is an event; the time and the backup itself are injectable.
 */
import type { AutoSetting } from '../backup/auto-policy.js';
import { hasCode, isIbackupError, IbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import type { MuxDeviceInfo, MuxEvent } from '../host/usbmux.js';
import { nextDue } from './auto.js';
import { backupDevice, type BackupProgress, type BackupResult } from './backup.js';
import type { HostContext } from './context.js';
import { hostDevice } from './describe.js';
import { withLinkGuard, type LinkGuardOptions } from './link-guard.js';
import { WatchQueue, type PhoneView, type WatchSnapshot } from './watch-queue.js';

export type { WatchSnapshot, PhoneView } from './watch-queue.js';

type Connection = 'USB' | 'Network';

export type SkipReason = 'not-paired' | 'auto-off' | 'recent' | 'busy';

export type WatchEvent =
  | { event: 'attached'; udid: string; connection: Connection }
  | { event: 'detached'; udid: string; connection: Connection }
  | { event: 'queued'; udid: string; position: number }
  | { event: 'started'; udid: string; connection: Connection }
  | { event: 'progress'; udid: string; phase: string; percent: number | null; bytesDone: number; filesDone: number }
  | {
      event: 'completed';
      udid: string;
      path: string;
      date: string;
      full: boolean;
      sizeBytes: number;
      durationMs: number;
    }
  | {
      event: 'failed';
      udid: string;
      error: { code: string; message: string; remedy: string };
      retryAfter: string | null;
    }
  | { event: 'skipped'; udid: string; reason: SkipReason; nextBackupAfter?: string; message: string }
  | { event: 'usbmuxd'; connected: boolean; message: string };

/** The backup of one phone (default backupDevice with the watch's lock purpose). */
export type BackupFn = (
  device: HostDevice,
  opts: { root: string; signal: AbortSignal; onProgress: (p: BackupProgress) => void },
) => Promise<BackupResult>;

export interface WatchOptions {
  ctx: HostContext;
  /** Where backups go. */
  root: string;
  /** Where earlier backups are looked for (default [root]). */
  roots?: readonly string[];
  policy: (udid: string) => Promise<AutoSetting>;
  /** Phones backed up at once (default 2). */
  parallel?: number;
  onEvent: (e: WatchEvent) => void;
  now?: () => Date;
  backup?: BackupFn;
  /** After a failed run, a phone still connected is tried again this much later (default 10 min). */
  retryMs?: number;
  /** How often connected phones are looked at again (a backup falling due; default 1 min). */
  tickMs?: number;
  /** After usbmuxd went away, how long before connecting again (default 5 s). */
  reconnectMs?: number;
  /** The newest complete backup's date of a phone (default from the backup roots). */
  lastBackup: (udid: string) => Promise<Date | null>;
  /** Progress events at most this often per phone (default 1 s). */
  progressEveryMs?: number;
  /** How a Wi-Fi link is watched during a run (the heartbeat's allowed silence). */
  linkGuard?: LinkGuardOptions;
}

/** A phone as the watcher knows it: its usbmuxd entries (USB and/or Network), its run, its retry. */
interface Phone {
  udid: string;
  entries: Map<number, MuxDeviceInfo>;
  run?: { controller: AbortController; deviceId: number };
  retryAt?: number;
  checking?: boolean;
  recheck?: boolean;
}

const bare = (udid: string): string => udid.replace(/-/g, '').toUpperCase();

export class Watcher {
  private readonly phones = new Map<string, Phone>();
  private readonly queue: WatchQueue;
  private readonly runs = new Set<Promise<void>>();
  private readonly now: () => Date;
  private stopped = false;
  /** usbmuxd could not be reached (or went away) and has sent nothing since. */
  private muxDown = false;

  constructor(private readonly opts: WatchOptions) {
    this.now = opts.now ?? (() => new Date());
    this.queue = new WatchQueue(Math.max(1, opts.parallel ?? 2));
  }

  /** Follows usbmuxd until `signal` aborts; then stops the runs under way and waits for them. */
  async run(signal: AbortSignal): Promise<void> {
    const tick = setInterval(() => void this.tick(), this.opts.tickMs ?? 60_000);
    try {
      while (!signal.aborted) {
        await this.follow(signal);
        if (!signal.aborted) await sleep(this.opts.reconnectMs ?? 5_000, signal);
      }
    } finally {
      clearInterval(tick);
      await this.stop();
    }
  }

  /** One connection to usbmuxd's Listen; a lost usbmuxd is an event, not the end. */
  private async follow(signal: AbortSignal): Promise<void> {
    try {
      await this.opts.ctx.mux.listen((e) => {
        this.muxDown = false;
        this.onMux(e);
      }, signal);
    } catch (err) {
      if (signal.aborted) return;
      for (const phone of this.phones.values()) phone.entries.clear();
      // Said once while usbmuxd stays away, not at every try to reach it again.
      if (this.muxDown) return;
      this.muxDown = true;
      const message = isIbackupError(err) ? err.message : String(err);
      this.opts.onEvent({ event: 'usbmuxd', connected: false, message });
    }
  }

  /** Stops: queued phones are dropped, runs under way are cancelled (their last backups stay whole). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    for (const phone of this.phones.values()) phone.run?.controller.abort();
    await Promise.allSettled([...this.runs]);
  }

  /** What runs, what waits, and each known phone. */
  snapshot(): WatchSnapshot {
    return this.queue.snapshot([...this.phones.values()].map((p) => this.view(p)));
  }

  private view(p: Phone): PhoneView {
    const entry = pickEntry(p);
    return {
      udid: p.udid,
      connected: entry !== undefined,
      connection: entry?.connection ?? null,
      running: p.run !== undefined,
      ...(p.retryAt === undefined ? {} : { retryAfter: new Date(p.retryAt).toISOString() }),
    };
  }

  onMux(e: MuxEvent): void {
    if (e.type === 'attached') {
      const phone = this.phoneOf(e.device.udid);
      const known = [...phone.entries.values()].some((x) => x.connection === e.device.connection);
      phone.entries.set(e.device.deviceId, e.device);
      if (!known) this.opts.onEvent({ event: 'attached', udid: phone.udid, connection: e.device.connection });
      phone.retryAt = undefined; // a phone that comes back is tried at once
      void this.consider(phone);
    } else if (e.type === 'detached') {
      this.detached(e.deviceId);
    } else {
      const phone = [...this.phones.values()].find((p) => p.entries.has(e.deviceId));
      if (!phone) return;
      phone.retryAt = undefined; // just trusted: look again now
      void this.consider(phone);
    }
  }

  private detached(deviceId: number): void {
    const phone = [...this.phones.values()].find((p) => p.entries.has(deviceId));
    if (!phone) return;
    const info = phone.entries.get(deviceId) as MuxDeviceInfo;
    phone.entries.delete(deviceId);
    this.opts.onEvent({ event: 'detached', udid: phone.udid, connection: info.connection });
    // The run's connections drop with the phone; the abort makes it end now rather than on a timeout.
    if (phone.run?.deviceId === deviceId) phone.run.controller.abort();
    if (phone.entries.size === 0) this.queue.remove(phone.udid);
  }

  /** Looks at every connected phone again: backups that fell due, retries whose time came. */
  async tick(): Promise<void> {
    await Promise.all([...this.phones.values()].filter((p) => p.entries.size > 0).map((p) => this.consider(p)));
  }

  private phoneOf(udid: string): Phone {
    const k = bare(udid);
    let phone = this.phones.get(k);
    if (!phone) {
      phone = { udid, entries: new Map() };
      this.phones.set(k, phone);
    }
    return phone;
  }

  /** Queues the phone when a backup is due (trusted, auto on, last backup old enough). */
  private async consider(phone: Phone): Promise<void> {
    if (phone.checking) {
      // Something changed (trusted, plugged in again) while a look was under way: look again after it.
      phone.recheck = true;
      return;
    }
    if (this.stopped || phone.run || this.queue.has(phone.udid) || phone.entries.size === 0) return;
    if (phone.retryAt !== undefined && phone.retryAt > this.now().getTime()) return;
    phone.checking = true;
    try {
      const skip = await this.reasonToSkip(phone);
      if (skip) {
        const { retryAt, ...said } = skip;
        if (phone.retryAt === undefined) this.opts.onEvent({ event: 'skipped', udid: phone.udid, ...said });
        phone.retryAt = retryAt;
        return;
      }
      phone.retryAt = undefined;
      if (phone.entries.size === 0 || this.stopped) return;
      const position = this.queue.add(phone.udid);
      this.opts.onEvent({ event: 'queued', udid: phone.udid, position });
      this.pump();
    } finally {
      phone.checking = false;
      if (phone.recheck) {
        phone.recheck = false;
        phone.retryAt = undefined;
        void this.consider(phone);
      }
    }
  }

  private async reasonToSkip(
    phone: Phone,
  ): Promise<{ reason: SkipReason; message: string; nextBackupAfter?: string; retryAt: number } | undefined> {
    const now = this.now();
    const later = now.getTime() + (this.opts.retryMs ?? 600_000);
    if ((await this.opts.ctx.records.read(phone.udid).catch(() => null)) === null) {
      return { reason: 'not-paired', message: 'This computer is not trusted by the iPhone yet.', retryAt: later };
    }
    const setting = await this.opts.policy(phone.udid);
    if (!setting.enabled) {
      return { reason: 'auto-off', message: 'Automatic backup is off for this iPhone.', retryAt: later };
    }
    const due = nextDue(setting, await this.opts.lastBackup(phone.udid), now);
    if (due === null) return undefined;
    return {
      reason: 'recent',
      message: 'The last backup is recent enough.',
      nextBackupAfter: due.toISOString(),
      retryAt: due.getTime(),
    };
  }

  /** Starts queued phones while there is room. */
  private pump(): void {
    for (let udid = this.queue.next(); udid !== undefined; udid = this.queue.next()) {
      const phone = this.phones.get(bare(udid));
      const entry = phone ? pickEntry(phone) : undefined;
      if (!phone || !entry || this.stopped) {
        this.queue.finished(udid);
        continue;
      }
      const p = this.start(phone, entry).finally(() => {
        this.runs.delete(p);
        this.queue.finished(udid);
        this.pump();
      });
      this.runs.add(p);
    }
  }

  /** One run of one phone over the given entry (USB preferred), with its outcome as events. */
  private async start(phone: Phone, entry: MuxDeviceInfo): Promise<void> {
    const controller = new AbortController();
    phone.run = { controller, deviceId: entry.deviceId };
    const backup = this.opts.backup ?? defaultBackup;
    const progress = this.progressOf(phone.udid);
    let started = false;
    try {
      const device = hostDevice(this.opts.ctx, entry);
      const r = await withLinkGuard(
        device,
        controller.signal,
        (signal) =>
          backup(device, {
            root: this.opts.root,
            signal,
            // The first progress comes once the run holds the phone's lock: then it has started.
            onProgress: (p) => {
              if (!started) this.opts.onEvent({ event: 'started', udid: phone.udid, connection: entry.connection });
              started = true;
              progress(p);
            },
          }),
        this.opts.linkGuard,
      );
      const { path, date, full, sizeBytes, durationMs } = r;
      this.opts.onEvent({ event: 'completed', udid: phone.udid, path, date, full, sizeBytes, durationMs });
    } catch (err) {
      this.failed(phone, err);
    } finally {
      phone.run = undefined;
    }
  }

  private failed(phone: Phone, err: unknown): void {
    const retryAt = this.now().getTime() + (this.opts.retryMs ?? 600_000);
    // Another process holds this phone: not a failure, try again later.
    if (hasCode(err, 'BUSY')) {
      phone.retryAt = retryAt;
      this.opts.onEvent({ event: 'skipped', udid: phone.udid, reason: 'busy', message: err.message });
      return;
    }
    const e = isIbackupError(err) ? err : new IbackupError('INTERNAL', { message: String(err), cause: err });
    // Unplugged: retried when it comes back (the attach clears retryAt); still here: after retryMs.
    phone.retryAt = this.stopped ? undefined : retryAt;
    const retryAfter = this.stopped ? null : new Date(retryAt).toISOString();
    this.opts.onEvent({ event: 'failed', udid: phone.udid, error: e.toJSON(), retryAfter });
  }

  private progressOf(udid: string): (p: BackupProgress) => void {
    let last = 0;
    let lastPhase = '';
    const every = this.opts.progressEveryMs ?? 1000;
    return (p) => {
      const t = Date.now();
      if (p.phase === lastPhase && t - last < every) return;
      last = t;
      lastPhase = p.phase;
      const { phase, bytesDone, filesDone } = p;
      this.opts.onEvent({ event: 'progress', udid, phase, percent: p.percent ?? null, bytesDone, filesDone });
    };
  }
}

const defaultBackup: BackupFn = (device, o) => backupDevice(device, { ...o, lockPurpose: 'watch' });

/** The entry to back up over: USB when the phone is also on Wi-Fi. */
function pickEntry(phone: Phone): MuxDeviceInfo | undefined {
  const all = [...phone.entries.values()];
  return all.find((e) => e.connection === 'USB') ?? all[0];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const t = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', finish);
      done();
    }
    signal.addEventListener('abort', finish, { once: true });
  });
}
