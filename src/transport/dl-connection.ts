/**
 * A DeviceLink connection (mobilebackup2): length-prefixed plists with raw file streams between
 * them, on one link. Used by both sides: the host reads upload streams, the device reads download
 * streams. Incoming bytes are buffered only up to a bound; past it the socket is paused, so a slow
 * disk slows the sender instead of filling memory.
 */
import { IbackupError } from '../errors.js';
import { DlFileStreamParser, type DlFileStreamEvent, type DlStreamDirection } from '../protocol/dl-file-stream.js';
import { RawFrameDecoder, encodeFrame, parseFramePlist } from '../protocol/frames.js';
import type { PlistValue } from '../protocol/plist/index.js';
import type { Link } from './link.js';
import { SilenceWatch } from './silence-watch.js';

export interface DlConnectionOptions {
  format?: 'xml' | 'binary';
  maxFrameSize?: number;
  /** Silence allowed between messages, ms (default 5 min; 0 = none). */
  timeoutMs?: number;
  /** Buffered bytes above which the socket is paused (default 4 MiB). */
  highWaterMark?: number;
}

export interface ReceiveOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class DlConnection {
  private readonly frames: RawFrameDecoder;
  /** The plist format of the messages. */
  readonly format: 'xml' | 'binary';
  private readonly timeoutMs: number;
  private readonly highWaterMark: number;
  /** Bytes received but not yet handed to a parser, in stream mode. */
  private pendingRaw: Buffer[] = [];
  private pendingRawBytes = 0;
  private streaming = false;
  private paused = false;
  private failure: Error | undefined;
  private wake: ((err?: Error) => void) | undefined;
  private readonly silence = new SilenceWatch();

  constructor(
    readonly link: Link,
    opts: DlConnectionOptions = {},
  ) {
    this.format = opts.format ?? 'binary';
    this.timeoutMs = opts.timeoutMs ?? 5 * 60_000;
    this.highWaterMark = opts.highWaterMark ?? 4 * 1024 * 1024;
    this.frames = new RawFrameDecoder(opts.maxFrameSize === undefined ? {} : { maxFrameSize: opts.maxFrameSize });
    link.on('data', (chunk: Buffer) => {
      if (this.streaming) {
        this.pendingRaw.push(chunk);
        this.pendingRawBytes += chunk.length;
      } else this.frames.feed(chunk);
      if (this.buffered() > this.highWaterMark && !this.paused) {
        this.paused = true;
        link.pause();
      }
      this.notify();
    });
    link.on('end', () => this.fail(new IbackupError('CONNECTION_CLOSED')));
    link.on('error', (err) => this.fail(err));
    if (link.isClosed) this.fail(new IbackupError('CONNECTION_CLOSED'));
  }

  /** Sends one plist; resolves once it (and everything before it) was handed to the system. */
  async send(value: PlistValue): Promise<void> {
    await this.sendFrame(this.frame(value));
  }

  /** A plist encoded as this connection sends it (to encode a message ahead of sending it). */
  frame(value: PlistValue): Uint8Array {
    return encodeFrame(value, { format: this.format });
  }

  /** Sends a message `frame` encoded. */
  async sendFrame(frame: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    await this.link.write(frame);
  }

  /**
   * Queues raw bytes (several parts go out in one system call) and returns undefined at once,
   * unless the socket is congested: then it returns a promise of the socket's draining. The parts
   * are not copied and must not change afterwards.
   */
  writeRaw(...parts: Uint8Array[]): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    return this.link.send(...parts) ? undefined : this.link.drained();
  }

  /** The next plist. */
  async receive(opts: ReceiveOptions = {}): Promise<PlistValue> {
    for (;;) {
      const body = this.frames.nextRaw();
      this.maybeResume();
      if (body) return parseFramePlist(body);
      await this.waitForData(opts);
    }
  }

  /**
   * Reads one raw file stream (the bytes that follow a DownloadFiles or UploadFiles message) and
   * calls `onEvent` for each event, awaiting it (backpressure). Returns after the stream's end.
   */
  async receiveStream(
    direction: DlStreamDirection,
    onEvent: (e: DlFileStreamEvent) => void | Promise<void>,
    opts: ReceiveOptions = {},
  ): Promise<void> {
    const parser = new DlFileStreamParser(direction);
    this.streaming = true;
    // One listener for the whole stream, not one per wait for bytes.
    const { signal } = opts;
    const onAbort = (): void => this.interrupt(new IbackupError('CANCELLED'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const first = this.frames.takeRemainder();
    if (first.length > 0) {
      this.pendingRaw.unshift(Buffer.from(first.buffer, first.byteOffset, first.byteLength));
      this.pendingRawBytes += first.length;
    }
    try {
      for (;;) {
        const chunk = this.pendingRaw.shift();
        if (!chunk) {
          this.maybeResume();
          await this.waitForData(opts, true);
          continue;
        }
        this.pendingRawBytes -= chunk.length;
        this.maybeResume();
        for (const ev of parser.push(chunk)) {
          const r = onEvent(ev);
          if (r) await r;
        }
        if (parser.done) {
          const rest = parser.takeRemainder();
          this.streaming = false;
          if (rest.length > 0) this.frames.feed(rest);
          for (const c of this.pendingRaw.splice(0)) this.frames.feed(c);
          this.pendingRawBytes = 0;
          this.maybeResume();
          return;
        }
      }
    } finally {
      this.streaming = false;
      signal?.removeEventListener('abort', onAbort);
    }
  }

  close(): void {
    this.silence.stop();
    this.link.close();
  }

  private buffered(): number {
    return this.frames.pending + this.pendingRawBytes;
  }

  private maybeResume(): void {
    if (this.paused && this.buffered() <= this.highWaterMark / 2) {
      this.paused = false;
      this.link.resume();
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private fail(err: Error): void {
    if (!this.failure)
      this.failure = err instanceof IbackupError ? err : new IbackupError('CONNECTION_CLOSED', { cause: err });
    this.notify();
    this.silence.stop();
  }

  /**
   * Waits for the next bytes (or the connection's end). `listening`: the caller watches the
   * signal itself (a stream registers one listener for all its waits: see receiveStream).
   */
  private waitForData(opts: ReceiveOptions, listening = false): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(new IbackupError('CANCELLED'));
    if (this.paused) {
      this.paused = false;
      this.link.resume();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => this.interrupt(new IbackupError('CANCELLED'));
      const watched = signal !== undefined && !listening;
      const done = (err?: Error): void => {
        if (watched) signal.removeEventListener('abort', onAbort);
        this.wake = undefined;
        this.silence.waitEnded();
        if (err) reject(err);
        else resolve();
      };
      this.wake = done;
      this.silence.waitStarted(timeoutMs, done);
      if (watched) signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ends the current wait with `err` (the connection itself stays usable). */
  private interrupt(err: Error): void {
    const w = this.wake;
    this.wake = undefined;
    w?.(err);
  }
}
