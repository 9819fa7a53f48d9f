/**
 * A framed plist connection (4-byte big-endian length + plist) over a Link: send, receive with a
 * timeout or an AbortSignal, and TLS on/off in the middle of the conversation (lockdownd).
 */
import { IbackupError } from '../errors.js';
import { FrameDecoder, encodeFrame } from '../protocol/frames.js';
import type { PlistValue } from '../protocol/plist/index.js';
import { Link, type TlsOptions } from './link.js';

export type PlistFormat = 'xml' | 'binary';

export interface PlistChannelOptions {
  /** Encoding of what we send (receiving accepts both). Default XML. */
  format?: PlistFormat;
  /** Largest frame accepted (default 64 MiB). */
  maxFrameSize?: number;
  /** Default receive timeout in ms (default 10 s); 0 = none. */
  timeoutMs?: number;
}

export interface ReceiveOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Waiter {
  resolve: (v: PlistValue) => void;
  reject: (e: Error) => void;
}

export class PlistChannel {
  readonly link: Link;
  private readonly decoder: FrameDecoder;
  private readonly waiters: Waiter[] = [];
  private failure: Error | undefined;
  private readonly format: PlistFormat;
  private readonly timeoutMs: number;
  private readonly onData = (chunk: Buffer): void => this.feed(chunk);
  private readonly onEnd = (): void => this.failAll(new IbackupError('CONNECTION_CLOSED'));
  private readonly onError = (err: Error): void => this.failAll(err);

  constructor(link: Link, opts: PlistChannelOptions = {}) {
    this.link = link;
    this.format = opts.format ?? 'xml';
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.decoder = new FrameDecoder(opts.maxFrameSize === undefined ? {} : { maxFrameSize: opts.maxFrameSize });
    link.on('data', this.onData);
    link.on('end', this.onEnd);
    link.on('error', this.onError);
    if (link.isClosed) this.onEnd();
  }

  /** Stops reading from the link (e.g. to hand the raw stream to another codec). */
  detach(): Uint8Array {
    this.link.off('data', this.onData);
    this.link.off('end', this.onEnd);
    this.link.off('error', this.onError);
    return this.decoder.takeRemainder();
  }

  async send(value: PlistValue, format: PlistFormat = this.format): Promise<void> {
    if (this.failure) throw this.failure;
    await this.link.write(encodeFrame(value, { format }));
  }

  /** The next plist from the peer. Rejects with TIMEOUT, CANCELLED, CONNECTION_CLOSED or a decode error. */
  receive(opts: ReceiveOptions = {}): Promise<PlistValue> {
    if (this.waiters.length === 0) {
      // Frames are decoded only when asked for, so bytes after the last one asked for (a TLS
      // handshake, a raw file stream) stay undecoded for whoever takes the link next.
      let value: PlistValue | undefined;
      try {
        value = this.decoder.next();
      } catch (err) {
        this.failDecode(err);
      }
      if (value !== undefined) return Promise.resolve(value);
    }
    if (this.failure) return Promise.reject(this.failure);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(new IbackupError('CANCELLED', { cause: signal.reason }));
    return new Promise<PlistValue>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        remove();
        reject(new IbackupError('CANCELLED', { cause: signal?.reason }));
      };
      const remove = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      const waiter: Waiter = {
        resolve: (v) => {
          remove();
          resolve(v);
        },
        reject: (e) => {
          remove();
          reject(e);
        },
      };
      this.waiters.push(waiter);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          remove();
          reject(
            new IbackupError('TIMEOUT', {
              message: `The device did not answer within ${Math.round(timeoutMs / 1000)} s.`,
            }),
          );
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Sends a request and waits for the reply. */
  async request(value: PlistValue, opts: ReceiveOptions = {}): Promise<PlistValue> {
    await this.send(value);
    return this.receive(opts);
  }

  /** Device side: switch this connection to TLS as the server (bytes already read are kept). */
  startTlsServer(opts: TlsOptions): Promise<void> {
    return this.link.startTlsServer(opts, this.decoder.takeRemainder());
  }

  /** Host side: switch this connection to TLS as the client. */
  startTlsClient(opts: TlsOptions): Promise<void> {
    return this.link.startTlsClient(opts, this.decoder.takeRemainder());
  }

  stopTls(): Promise<void> {
    return this.link.stopTls();
  }

  close(): void {
    this.link.close();
  }

  private feed(chunk: Buffer): void {
    this.decoder.feed(chunk);
    while (this.waiters.length > 0) {
      let value: PlistValue | undefined;
      try {
        value = this.decoder.next();
      } catch (err) {
        this.failDecode(err);
        return;
      }
      if (value === undefined) return;
      this.waiters.shift()?.resolve(value);
    }
  }

  private failDecode(err: unknown): void {
    this.failAll(err instanceof Error ? err : new Error(String(err)));
    this.link.close();
  }

  private failAll(err: Error): void {
    if (!this.failure) this.failure = err;
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }
}
