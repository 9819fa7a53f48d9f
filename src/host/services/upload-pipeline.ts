/**
 * The files of one UploadFiles stream, written while the stream goes on. Each file's steps
 * (create, write its chunks, commit) run in order, but the stream does not wait for them: the
 * next file's bytes are parsed while earlier files are still being opened, written and renamed,
 * so a disk's latency per operation no longer holds the device up. Bounded: at most
 * MAX_FILES_IN_FLIGHT files and MAX_BYTES_IN_FLIGHT bytes (queued, or kept in memory by a file
 * until it writes) wait at any time; two uploads of the same path run one after the other.
 * `finish` waits for every file before the status reply.
 */
import type { BackupTarget, TargetFile } from './mobilebackup2-target.js';

const MAX_FILES_IN_FLIGHT = 32;
/**
 * Enough to keep a disk busy while the next files arrive (a fiftieth of a second of a fast disk's
 * writing, far more of a slow one's), and small enough that the chunks die young: a chunk held
 * across two of V8's young-generation collections is moved to the old generation, where only a
 * full collection frees it, and its bytes (outside the heap) then start one. Measured at 20 000
 * files: 21 full collections with 16 MiB in flight, 11 with 4 MiB, the same wall time.
 */
const MAX_BYTES_IN_FLIGHT = 4 * 1024 * 1024;

export interface UploadCallbacks {
  /** A file failed: returns the status to report (the last failure is reported). */
  fail(err: unknown, path: string): { code: number; text: string };
  /** A file is complete on disk. */
  received?(path: string, size: number): void;
  /** A file the device could not read to the end is on disk with what it sent. */
  unreadable?(path: string, devicePath: string, reason: string): void;
}

/** How a file's upload ended: whole, cut short by the device's error block, or dropped. */
export type FileEnding = 'ok' | 'unreadable' | 'dropped';

interface Job {
  path: string;
  /** The file's path on the device (for messages). */
  devicePath: string;
  size: number;
  /** Bytes of this file counted in bytesInFlight: queued for writing, or kept by the file. */
  held: number;
  /** Of those, the bytes not yet handed to the file. */
  queued: number;
  /** The file once created and after every write so far; undefined once it failed. */
  chain: Promise<TargetFile | undefined>;
}

export class UploadPipeline {
  private job: Job | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** The last job of each path still in flight (a second upload of a path waits for it). */
  private readonly lastOfPath = new Map<string, Promise<void>>();
  private bytesInFlight = 0;
  /** Called when a file in flight settles (see waitForOne). */
  private settled: (() => void) | undefined;
  private failure: { code: number; text: string } | undefined;

  private readonly maxFiles: number;
  private readonly maxBytes: number;

  constructor(
    private readonly target: BackupTarget,
    private readonly cb: UploadCallbacks,
    limits: { files?: number; bytes?: number } = {},
  ) {
    this.maxFiles = limits.files ?? MAX_FILES_IN_FLIGHT;
    this.maxBytes = limits.bytes ?? MAX_BYTES_IN_FLIGHT;
  }

  /** Bytes queued or kept in memory by files not yet on disk (tests watch the bound). */
  get bytesWaiting(): number {
    return this.bytesInFlight;
  }

  /** The failure to report for the whole stream, if any (read after `finish`). */
  get status(): { code: number; text: string } | undefined {
    return this.failure;
  }

  fileStart(path: string, devicePath = ''): void {
    const before = this.lastOfPath.get(path) ?? Promise.resolve();
    const created = before
      .then(() => this.target.createFile(path))
      .catch((err: unknown) => this.failed(err, path, undefined));
    this.job = { path, devicePath, size: 0, held: 0, queued: 0, chain: created };
  }

  /** Queues a chunk of the current file (kept, not copied: it must not change afterwards). */
  data(bytes: Uint8Array): void {
    const job = this.job;
    if (!job) return;
    job.size += bytes.length;
    job.held += bytes.length;
    job.queued += bytes.length;
    this.bytesInFlight += bytes.length;
    job.chain = job.chain.then(async (file) => {
      job.queued -= bytes.length;
      try {
        if (file) await file.write(bytes);
        return file;
      } catch (err) {
        return this.failed(err, job.path, file);
      } finally {
        // What the file keeps in memory until it writes (a small file, whole, until commit) stays counted.
        this.release(job, job.queued + (file?.bufferedBytes ?? 0));
      }
    });
  }

  /** Stops counting a file's bytes beyond the `keep` it still holds. */
  private release(job: Job, keep: number): void {
    const freed = job.held - keep;
    if (freed <= 0) return;
    job.held = keep;
    this.bytesInFlight -= freed;
  }

  /**
   * The current file ended: `ok` (complete), `unreadable` (the device's error block after what it
   * could read: kept as sent, `reason` is the device's message) or `dropped`. Waits for room.
   */
  async fileEnd(ending: FileEnding, reason = ''): Promise<void> {
    const job = this.job;
    this.job = undefined;
    if (!job) return;
    const done = job.chain
      .then(async (file) => {
        if (!file) return;
        if (ending === 'dropped') return file.abort();
        try {
          await file.commit();
          if (ending === 'unreadable') this.cb.unreadable?.(job.path, job.devicePath, reason);
          this.cb.received?.(job.path, job.size);
        } catch (err) {
          await this.failed(err, job.path, file);
        }
      })
      .catch((err: unknown) => void this.failed(err, job.path, undefined))
      .finally(() => this.release(job, 0));
    this.inFlight.add(done);
    this.lastOfPath.set(job.path, done);
    void done.then(() => {
      this.inFlight.delete(done);
      if (this.lastOfPath.get(job.path) === done) this.lastOfPath.delete(job.path);
      const wake = this.settled;
      this.settled = undefined;
      wake?.();
    });
    while (this.inFlight.size >= this.maxFiles || (this.bytesInFlight >= this.maxBytes && this.inFlight.size > 0)) {
      await this.waitForOne();
    }
  }

  /**
   * Until a file in flight settles. One waiter at a time (the stream's reader), woken by the
   * file that settles: a race over every file in flight would attach a reaction to each of them
   * for every file that waits (32 per file while the pipeline is full).
   */
  private waitForOne(): Promise<void> {
    return new Promise((resolve) => {
      const before = this.settled;
      this.settled = () => {
        before?.();
        resolve();
      };
    });
  }

  /** Waits while too many bytes are queued for the file still arriving (a big file). */
  async room(): Promise<void> {
    if (this.bytesInFlight < this.maxBytes) return;
    if (this.inFlight.size > 0) await this.waitForOne();
    else if (this.job) await this.job.chain;
  }

  /** Every queued file is on disk (or failed); call before the status reply. */
  async finish(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** The stream broke: the unfinished file is dropped, the queued ones finish. */
  async abort(): Promise<void> {
    const job = this.job;
    this.job = undefined;
    if (job) await job.chain.then((file) => file?.abort()).catch(() => undefined);
    await this.finish();
  }

  private async failed(err: unknown, path: string, file: TargetFile | undefined): Promise<undefined> {
    this.failure = this.cb.fail(err, path);
    await file?.abort().catch(() => undefined);
    return undefined;
  }
}
