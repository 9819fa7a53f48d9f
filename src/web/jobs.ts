/**
 * Jobs: the long operations the page starts (backup, restore, trust, encryption change), one per
 * device at a time. Each has an AbortController (cancel), a JobView the page follows through
 * `job` events — throttled to about 10 a second per job, but state and phase changes and the
 * final event always go out at once — and ends done, failed (with an ErrorView) or cancelled.
 */
import { randomUUID } from 'node:crypto';
import { IbackupError, isIbackupError } from '../errors.js';
import type { ErrorView, JobKind, JobResult, JobState, JobView } from './api.js';
import { errorView, type Log } from './http-errors.js';
import { TimeLeft } from './job-rate.js';

export interface JobProgress {
  phase?: string;
  percent?: number;
  bytesDone?: number;
  bytesTotal?: number;
  /** About how many bytes the job moves (a backup: the size of the phone's previous complete one). */
  bytesExpected?: number;
  filesDone?: number;
}

/** What a running job's code gets: the signal to obey and the ways to report. */
export interface JobControl {
  readonly signal: AbortSignal;
  progress(p: JobProgress): void;
  warn(message: string): void;
}

export type JobRunner = (ctl: JobControl) => Promise<JobResult | null>;

export interface JobManagerOptions {
  /** A `job` event to send. */
  publish: (job: JobView) => void;
  /** The job started, ended, or changed phase (the device's state changed with it). */
  onChange?: (job: Job) => void;
  /** The job ended (any way). */
  onEnd?: (job: Job) => void;
  log?: Log;
  /** Least time between two progress events of one job (default 100 ms). */
  throttleMs?: number;
}

/** How many finished jobs stay readable through GET /api/jobs/:id. */
const KEEP_FINISHED = 50;

export class Job {
  readonly id = randomUUID();
  state: JobState = 'running';
  phase: string;
  percent: number | null = null;
  bytesDone = 0;
  bytesTotal: number | null = null;
  bytesExpected: number | null = null;
  filesDone = 0;
  readonly startedMs = Date.now();
  finishedMs: number | null = null;
  readonly warnings: string[] = [];
  error: ErrorView | null = null;
  /** The error as thrown (the device monitor looks at its code). */
  cause: unknown = undefined;
  result: JobResult | null = null;
  readonly controller = new AbortController();
  /** The time left, told only from a steady pace. */
  readonly timeLeft = new TimeLeft();
  /** The time left from the bytes against `bytesExpected`, when the percent tells none. */
  readonly bytesLeft = new TimeLeft();
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly udid: string,
    readonly kind: JobKind,
    phase: string,
  ) {
    this.phase = phase;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  view(now = Date.now()): JobView {
    const elapsed = ((this.finishedMs ?? now) - this.startedMs) / 1000;
    const p = this.percent;
    return {
      id: this.id,
      udid: this.udid,
      kind: this.kind,
      state: this.state,
      phase: this.phase,
      percent: p,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      bytesExpected: this.bytesExpected,
      filesDone: this.filesDone,
      bytesPerSecond: elapsed > 0.2 && this.bytesDone > 0 ? Math.round(this.bytesDone / elapsed) : null,
      etaSeconds: this.running ? this.secondsLeft(now) : null,
      startedAt: new Date(this.startedMs).toISOString(),
      finishedAt: this.finishedMs === null ? null : new Date(this.finishedMs).toISOString(),
      waitingForPasscode: this.running && this.phase === 'waiting-for-passcode',
      warnings: [...this.warnings],
      error: this.error,
      result: this.result,
    };
  }

  /** From the percent's steady pace, else from the bytes' against the expected total (while under it). */
  private secondsLeft(now: number): number | null {
    const fromPercent = this.timeLeft.seconds(now);
    if (fromPercent !== null || this.bytesExpected === null || this.bytesDone >= this.bytesExpected) return fromPercent;
    return this.bytesLeft.seconds(now);
  }

  /** New bytes: sampled against the expected total, when there is one. */
  sampleBytes(bytesDone: number, now = Date.now()): void {
    this.bytesDone = bytesDone;
    if (this.bytesExpected !== null && this.bytesExpected > 0 && bytesDone < this.bytesExpected)
      this.bytesLeft.sample((100 * bytesDone) / this.bytesExpected, now);
  }
}

export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly throttleMs: number;

  constructor(private readonly opts: JobManagerOptions) {
    this.throttleMs = opts.throttleMs ?? 100;
  }

  get(id: string): Job {
    const job = this.jobs.get(id);
    if (!job)
      throw new IbackupError('NOT_FOUND', {
        message: 'There is no such job (it may be from before ibackup ui was restarted).',
        remedy: 'Reload the page.',
      });
    return job;
  }

  /** The job running on this device, if any. */
  runningOn(udid: string): Job | undefined {
    for (const job of this.jobs.values()) if (job.running && job.udid === udid) return job;
    return undefined;
  }

  /** The newest job (of this kind, when given) on this device, running or not. */
  lastOf(udid: string, kind?: JobKind): Job | undefined {
    let last: Job | undefined;
    for (const job of this.jobs.values())
      if (job.udid === udid && (kind === undefined || job.kind === kind)) last = job;
    return last;
  }

  /** Starts `run` as a job on `udid`; BUSY (409) when the device already runs one. */
  start(udid: string, kind: JobKind, phase: string, run: JobRunner): Job {
    const busy = this.runningOn(udid);
    if (busy) throw busyError(busy);
    const job = new Job(udid, kind, phase);
    this.jobs.set(job.id, job);
    this.prune();
    const send = throttledSender(() => this.opts.publish(job.view()), this.throttleMs);
    send.now();
    this.opts.onChange?.(job);
    job.done = this.runToEnd(job, run, this.control(job, send), send);
    return job;
  }

  /** What the job's code reports through: progress (phase changes sent at once), warnings. */
  private control(job: Job, send: Sender): JobControl {
    return {
      signal: job.controller.signal,
      progress: (p) => {
        if (!job.running) return;
        const phaseChanged = p.phase !== undefined && p.phase !== job.phase;
        if (p.phase !== undefined) job.phase = p.phase;
        if (p.percent !== undefined && Number.isFinite(p.percent)) {
          job.percent = Math.max(0, Math.min(100, p.percent));
          job.timeLeft.sample(job.percent);
        }
        if (p.bytesExpected !== undefined) job.bytesExpected = p.bytesExpected;
        if (p.bytesDone !== undefined) job.sampleBytes(p.bytesDone);
        if (p.bytesTotal !== undefined) job.bytesTotal = p.bytesTotal;
        if (p.filesDone !== undefined) job.filesDone = p.filesDone;
        if (phaseChanged) {
          send.now();
          this.opts.onChange?.(job);
        } else send.soon();
      },
      warn: (message) => {
        if (!job.running || job.warnings.includes(message)) return;
        job.warnings.push(message);
        send.now();
      },
    };
  }

  /** Runs the job's code and records how it ended: done, cancelled or failed. */
  private async runToEnd(job: Job, run: JobRunner, ctl: JobControl, send: Sender): Promise<void> {
    try {
      job.result = await run(ctl);
      // What finished despite a late cancel is done (a complete backup is a complete backup).
      job.state = 'done';
    } catch (err) {
      job.cause = err;
      if (job.controller.signal.aborted || (isIbackupError(err) && err.code === 'CANCELLED')) {
        job.state = 'cancelled';
        job.error =
          isIbackupError(err) && err.code === 'CANCELLED' ? err.toJSON() : new IbackupError('CANCELLED').toJSON();
      } else {
        job.state = 'failed';
        job.error = errorView(err, this.opts.log);
      }
    }
    job.finishedMs = Date.now();
    send.now();
    try {
      this.opts.onChange?.(job);
      this.opts.onEnd?.(job);
    } catch (err) {
      this.opts.log?.(`after a job: ${String(err)}`);
    }
  }

  /** Asks a running job to stop; it ends `cancelled` (a finished job is returned as it is). */
  cancel(id: string): Job {
    const job = this.get(id);
    if (job.running) job.controller.abort();
    return job;
  }

  /** Cancels every running job and waits (at most `timeoutMs`) for them to end. */
  async cancelAll(timeoutMs = 15_000): Promise<void> {
    const running = [...this.jobs.values()].filter((j) => j.running);
    for (const j of running) j.controller.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(running.map((j) => j.done)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => !j.running);
    for (const j of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(j.id);
  }
}

/** Sends a job's view now, or soon: at most one per `throttleMs`, the latest state. */
interface Sender {
  now(): void;
  soon(): void;
}

function throttledSender(publish: () => void, throttleMs: number): Sender {
  let lastSent = 0;
  let timer: NodeJS.Timeout | undefined;
  const now = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    lastSent = Date.now();
    publish();
  };
  const soon = (): void => {
    if (timer) return;
    const wait = lastSent + throttleMs - Date.now();
    if (wait <= 0) now();
    else timer = setTimeout(now, wait);
  };
  return { now, soon };
}

const BUSY_WHAT: Record<JobKind, string> = {
  backup: 'A backup of this iPhone is running.',
  restore: 'A restore to this iPhone is running.',
  trust: 'The iPhone is asking whether to trust this computer.',
  encryption: 'The backup password of this iPhone is being changed.',
  photos: 'Photos are being copied from this iPhone.',
  export: 'A readable export of this backup is being written.',
};

export function busyError(job: Job): IbackupError {
  return new IbackupError('BUSY', {
    message: BUSY_WHAT[job.kind],
    remedy:
      job.kind === 'trust'
        ? 'Unlock the iPhone and answer "Trust This Computer?" on it first.'
        : 'Wait until it has finished, or cancel it, then try again.',
    details: { jobId: job.id, kind: job.kind },
  });
}
