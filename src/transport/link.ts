/**
 * A byte link over one socket that can switch TLS on and off again.
 *
 * lockdownd starts TLS on the same socket after StartSession and returns to plaintext after
 * StopSession. Node's TLSSocket cannot hand a socket back, so the TLS engine never sees the raw
 * socket: it sits on a private carrier stream that we feed whole TLS records only. Whatever follows
 * the peer's close_notify (or is not a TLS record at all once the session is up) is plaintext again.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { IbackupError } from '../errors.js';
import { Carrier, closedError, secureContextFor, wrapIo, type TlsEngine } from './tls-carrier.js';
import { TlsRecordSplitter } from './tls-records.js';

export interface TlsOptions {
  /** PEM certificate presented to the peer. */
  cert: string | Uint8Array;
  /** PEM private key for `cert`. */
  key: string | Uint8Array;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  ciphers?: string;
  /** OpenSSL option bits (crypto.constants.SSL_OP_*), e.g. SSL_OP_LEGACY_SERVER_CONNECT. */
  secureOptions?: number;
  /**
   * Server side: speak TLS as a phone before iOS 10 does (TLS 1.0, no secure-renegotiation
   * extension; see tls-legacy-server.ts) instead of through OpenSSL.
   */
  legacyServer?: boolean;
  /** Handshake timeout in milliseconds (default 15 s). */
  timeoutMs?: number;
  /**
   * TLS stays on until the connection ends (a service connection; lockdownd's session can end
   * TLS and go on in plaintext, services never do). On a real socket the TLS engine then reads
   * the socket directly, without the record-splitting carrier: far less copying per byte.
   */
  permanent?: boolean;
}

type Mode = 'plain' | 'tls';

/** Bytes `send` may leave queued in this process before the writer is asked to wait. */
const SEND_QUEUE_BYTES = 4 * 1024 * 1024;

interface LinkEvents {
  newListener: [event: string | symbol, listener: unknown];
  data: [Buffer];
  end: [];
  error: [Error];
}

export class Link extends EventEmitter<LinkEvents> {
  private mode: Mode = 'plain';
  private tlsSocket: TlsEngine | undefined;
  private carrier: Carrier | undefined;
  private splitter: TlsRecordSplitter | undefined;
  /** Plaintext that arrived after TLS records, held until the TLS engine has drained. */
  private pendingPlain: Buffer[] = [];
  private closed = false;
  private readonly onRawData = (chunk: Buffer): void => this.onRaw(chunk);
  private readonly onRawEnd = (): void => this.finish();
  private readonly onRawError = (err: Error): void => this.fail(err);

  /** Data that arrived while nobody listened (between one consumer and the next). */
  private backlog: Buffer[] = [];

  constructor(readonly raw: Duplex) {
    super();
    this.on('newListener', (event) => {
      if (event === 'data' && this.backlog.length > 0) queueMicrotask(() => this.flushBacklog());
    });
    raw.on('data', this.onRawData);
    raw.on('end', this.onRawEnd);
    raw.on('close', this.onRawEnd);
    raw.on('error', this.onRawError);
  }

  get encrypted(): boolean {
    return this.mode === 'tls';
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The certificate the TLS peer presented, if any. */
  peerCertificate(): X509Certificate | undefined {
    return this.tlsSocket?.getPeerX509Certificate();
  }

  /** TLS protocol version in use (e.g. "TLSv1.3"), or null in plaintext. */
  tlsVersion(): string | null {
    return this.mode === 'tls' ? (this.tlsSocket?.getProtocol() ?? null) : null;
  }

  /** Writes bytes; resolves once they were handed to the operating system. */
  write(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const target = this.target();
    return new Promise((resolve, reject) => {
      target.write(bytes, (err) => (err ? reject(wrapIo(err)) : resolve()));
    });
  }

  /**
   * Queues bytes for the peer without waiting for them to leave (no copy: the parts must not
   * change afterwards). Several parts go out together, in one system call when the socket is
   * free. Returns false when the writer should wait for `drained()` before queueing more. Write
   * errors end the link ('error', then 'end').
   */
  send(...parts: Uint8Array[]): boolean {
    if (this.closed) throw closedError();
    const target = this.target();
    if (parts.length === 1) target.write(parts[0] as Uint8Array);
    else if (parts.length > 1) {
      target.cork();
      for (const p of parts) target.write(p);
      target.uncork();
    }
    return target.writableLength < SEND_QUEUE_BYTES;
  }

  /** Resolves when `send` may queue more (at once if it may now); rejects once the link is closed. */
  drained(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const target = this.target();
    if (target.writableLength < SEND_QUEUE_BYTES || !target.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.off('end', onEnd);
        resolve();
      };
      const onEnd = (): void => {
        target.off('drain', onDrain);
        reject(closedError());
      };
      target.once('drain', onDrain);
      this.once('end', onEnd);
    });
  }

  /** True while the socket wants the writer to wait (backpressure). */
  get writableNeedDrain(): boolean {
    return this.target().writableNeedDrain;
  }

  private target(): Duplex {
    return this.mode === 'tls' && this.tlsSocket ? this.tlsSocket : this.raw;
  }

  /** Delivers bytes that were read from the socket before this link took it over. */
  feedRaw(bytes: Uint8Array): void {
    if (bytes.length > 0) this.onRaw(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  pause(): void {
    this.raw.pause();
    this.tlsSocket?.pause();
  }

  resume(): void {
    this.raw.resume();
    this.tlsSocket?.resume();
  }

  /** Device side: become the TLS server. `leftover` = bytes already read past the last frame. */
  startTlsServer(opts: TlsOptions, leftover?: Uint8Array): Promise<void> {
    const direct = this.directSocket(opts, leftover);
    const carrier = direct ?? this.beginTls(leftover, false);
    if (opts.legacyServer === true) {
      carrier.pause(); // node-forge loads on first use; nothing is read meanwhile
      return import('./tls-legacy-server.js').then((m) =>
        this.awaitHandshake(new m.LegacyTlsServerSocket(carrier, opts), 'secure', opts.timeoutMs),
      );
    }
    const sock = new tls.TLSSocket(carrier, {
      isServer: true,
      requestCert: true,
      rejectUnauthorized: false,
      secureContext: secureContextFor(opts),
    });
    return this.awaitHandshake(sock, 'secure', opts.timeoutMs);
  }

  /** Host side: become the TLS client. */
  startTlsClient(opts: TlsOptions, leftover?: Uint8Array): Promise<void> {
    const direct = this.directSocket(opts, leftover);
    const carrier = direct ?? this.beginTls(leftover, true);
    const sock = tls.connect({
      socket: carrier,
      secureContext: secureContextFor(opts),
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    return this.awaitHandshake(sock, 'secureConnect', opts.timeoutMs);
  }

  /**
   * Ends TLS from our side: sends close_notify, then writes go out in plaintext. Incoming TLS
   * records (the peer's close_notify) are still absorbed; plaintext after them is delivered.
   */
  async stopTls(): Promise<void> {
    const sock = this.tlsSocket;
    if (this.mode !== 'tls' || !sock) return;
    if (this.direct)
      throw new IbackupError('INTERNAL', {
        message: 'TLS on this connection was started for good; it cannot be ended.',
      });
    await new Promise<void>((resolve) => sock.end(() => resolve()));
    if (this.carrier) this.carrier.dropWrites = true;
    this.mode = 'plain';
  }

  close(): void {
    this.tlsSocket?.destroy();
    this.raw.destroy();
    this.finish();
  }

  /** TLS is on for good and the engine reads the socket itself. */
  private direct = false;

  /**
   * For TLS that never ends on a real socket with nothing read ahead: hands the socket itself to
   * the TLS engine (its events then come from the TLS socket). Otherwise undefined: the carrier.
   */
  private directSocket(opts: TlsOptions, leftover: Uint8Array | undefined): net.Socket | undefined {
    const raw = this.raw;
    if (
      opts.permanent !== true ||
      !(raw instanceof net.Socket) ||
      (leftover?.length ?? 0) > 0 ||
      this.backlog.length > 0
    )
      return undefined;
    if (this.mode === 'tls') throw new IbackupError('INTERNAL', { message: 'TLS is already on for this connection.' });
    if (this.closed) throw closedError();
    raw.off('data', this.onRawData);
    raw.off('end', this.onRawEnd);
    raw.off('error', this.onRawError);
    this.mode = 'tls';
    this.direct = true;
    return raw;
  }

  private beginTls(leftover: Uint8Array | undefined, _client: boolean): Carrier {
    if (this.mode === 'tls') throw new IbackupError('INTERNAL', { message: 'TLS is already on for this connection.' });
    if (this.closed) throw closedError();
    this.mode = 'tls';
    const carrier = new Carrier(this.raw);
    this.carrier = carrier;
    this.splitter = new TlsRecordSplitter();
    this.pendingPlain = [];
    if (leftover && leftover.length > 0)
      this.onRaw(Buffer.from(leftover.buffer, leftover.byteOffset, leftover.byteLength));
    return carrier;
  }

  private awaitHandshake(sock: TlsEngine, event: 'secure' | 'secureConnect', timeoutMs = 15_000): Promise<void> {
    this.tlsSocket = sock;
    const carrier = this.carrier;
    sock.on('data', (chunk: Buffer) => {
      if (!this.closed) this.deliver(chunk);
    });
    if (this.direct) {
      // The socket is the TLS socket's now: its end is the link's end.
      sock.on('end', () => this.finish());
      sock.on('close', () => this.finish());
    } else sock.on('end', () => this.onTlsEnded(sock, carrier));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        const err = new IbackupError('TIMEOUT', { message: 'The secure (TLS) connection was not set up in time.' });
        reject(err);
        this.close();
      }, timeoutMs);
      const onOk = (): void => {
        cleanup();
        resolve();
      };
      const onErr = (err: Error): void => {
        cleanup();
        reject(
          new IbackupError('PROTOCOL_DECODE', {
            message: `The secure (TLS) connection failed: ${err.message}`,
            remedy: 'Reconnect the iPhone and try again; if it keeps failing, pair again.',
            cause: err,
          }),
        );
        this.close();
      };
      const onClose = (): void => onErr(new Error('connection closed during the TLS handshake'));
      const cleanup = (): void => {
        clearTimeout(timer);
        sock.off(event, onOk);
        sock.off('error', onErr);
        this.raw.off('close', onClose);
      };
      sock.once(event, onOk);
      sock.once('error', onErr);
      this.raw.once('close', onClose);
      sock.on('error', (err) => {
        // after the handshake, TLS errors end the link
        if (!this.closed) this.fail(err);
      });
    });
  }

  /** The peer sent close_notify: from now on the socket speaks plaintext. */
  private onTlsEnded(sock: TlsEngine, carrier: Carrier | undefined): void {
    if (this.tlsSocket !== sock) return;
    if (carrier) carrier.dropWrites = true; // never answer close_notify: the peer may already be in plaintext
    this.mode = 'plain';
    this.tlsSocket = undefined;
    this.carrier = undefined;
    const rest = this.splitter?.takeRemainder();
    this.splitter = undefined;
    const pending = this.pendingPlain;
    this.pendingPlain = [];
    for (const chunk of pending) this.deliver(chunk);
    if (rest && rest.length > 0) this.deliver(rest);
    setImmediate(() => sock.destroy());
  }

  private onRaw(chunk: Buffer): void {
    if (this.closed) return;
    const splitter = this.splitter;
    const carrier = this.carrier;
    if (!splitter || !carrier) {
      this.deliver(chunk);
      return;
    }
    if (this.pendingPlain.length > 0) {
      this.pendingPlain.push(chunk);
      return;
    }
    const established = this.tlsSocket !== undefined && this.tlsSocket.encrypted && this.handshakeDone();
    const { records, plaintext } = splitter.push(chunk, established);
    for (const r of records) carrier.push(r);
    if (plaintext) {
      // Not TLS any more: wait for the engine to process what it has (the close_notify), then deliver.
      this.pendingPlain.push(plaintext);
      const sock = this.tlsSocket;
      setTimeout(() => {
        if (sock && this.tlsSocket === sock) this.onTlsEnded(sock, this.carrier);
      }, 50);
    }
  }

  /** Hands bytes to the consumer, or keeps them until one listens. */
  private deliver(chunk: Buffer): void {
    if (this.listenerCount('data') === 0 || this.backlog.length > 0) {
      this.backlog.push(chunk);
      return;
    }
    this.emit('data', chunk);
  }

  private flushBacklog(): void {
    while (this.backlog.length > 0 && this.listenerCount('data') > 0) {
      const chunk = this.backlog.shift() as Buffer;
      this.emit('data', chunk);
    }
  }

  private handshakeDone(): boolean {
    const s = this.tlsSocket;
    return s !== undefined && s.getProtocol() !== null && s.getProtocol() !== 'unknown';
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('end');
  }

  private fail(err: Error): void {
    if (this.closed) return;
    // A consumer that only listens for 'end' still learns that the link is gone; an 'error'
    // nobody listens to must not bring the whole process down (a reset socket is routine).
    if (this.listenerCount('error') > 0) this.emit('error', wrapIo(err));
    this.raw.destroy();
    this.finish();
  }
}
