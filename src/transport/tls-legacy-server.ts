/**
 * The TLS server of a phone from before iOS 10: TLS 1.0, RSA key exchange, AES-CBC, and a
 * ServerHello without the renegotiation_info extension (RFC 5746 secure renegotiation was unknown
 * to it). OpenSSL 3 clients refuse such a server unless SSL_OP_LEGACY_SERVER_CONNECT is set:
 * "unsafe legacy renegotiation disabled" (libimobiledevice issue 1270, an iPhone 3GS; idevice.c
 * (master fa0f791) ~line 1289 sets the option for every iOS since). OpenSSL's own server, and so
 * Node's, always answers that extension, so this engine is node-forge's TLS, which never sends it.
 *
 * It behaves as much like a tls.TLSSocket as a Link needs: 'secure' once the handshake is done,
 * plaintext in and out as a Duplex, 'end' when the peer sends close_notify, `end()` sending ours.
 */
import { X509Certificate } from 'node:crypto';
import { Duplex } from 'node:stream';
import forge from 'node-forge';
import type { TlsEngine } from './tls-carrier.js';

const ALERT_RECORD = 21;

export interface LegacyTlsServerOptions {
  cert: string | Uint8Array;
  key: string | Uint8Array;
}

function toPem(v: string | Uint8Array): string {
  return typeof v === 'string' ? v : Buffer.from(v).toString('latin1');
}

function derOf(cert: forge.pki.Certificate): Buffer {
  return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'latin1');
}

export class LegacyTlsServerSocket extends Duplex implements TlsEngine {
  readonly encrypted = true;
  private readonly conn: forge.tls.Connection;
  private handshakeDone = false;
  private peer: X509Certificate | undefined;
  /** We sent close_notify: what arrives now is the peer's answer, never data. */
  private closedByUs = false;
  private ended = false;
  private readonly onCarrierData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onCarrierEnd = (): void => this.endReadable();
  /** A reset socket: the TLS connection fails with it (as a tls.TLSSocket's does). */
  private readonly onCarrierError = (err: Error): void => {
    this.destroy(err);
  };

  constructor(
    private readonly carrier: Duplex,
    opts: LegacyTlsServerOptions,
  ) {
    super({ allowHalfOpen: true });
    const certPem = toPem(opts.cert);
    const keyPem = toPem(opts.key);
    this.conn = forge.tls.createConnection({
      server: true,
      // Ask for the host's certificate (lockdownd then checks it against the pairing).
      verifyClient: true,
      verify: (_c, _verified, depth, certs) => {
        const leaf = certs[0];
        if (depth === 0 && leaf !== undefined && this.peer === undefined) this.peer = new X509Certificate(derOf(leaf));
        return true;
      },
      getCertificate: () => certPem,
      getPrivateKey: () => keyPem,
      connected: () => this.onConnected(),
      tlsDataReady: (c) => this.sendRecords(c.tlsData.getBytes()),
      dataReady: (c) => {
        const bytes = c.data.getBytes();
        if (bytes.length > 0) this.push(Buffer.from(bytes, 'latin1'));
      },
      // Called for our own close_notify too; only the peer's ends what we read.
      closed: () => {
        if (!this.closedByUs) this.endReadable();
      },
      error: (_c, e) => this.destroy(new Error(e.message)),
    });
    carrier.on('data', this.onCarrierData);
    carrier.on('end', this.onCarrierEnd);
    carrier.on('error', this.onCarrierError);
    carrier.resume();
  }

  getProtocol(): string | null {
    return this.handshakeDone ? 'TLSv1' : null;
  }

  getPeerX509Certificate(): X509Certificate | undefined {
    return this.peer;
  }

  override _read(): void {
    // plaintext is pushed as records are decrypted
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.handshakeDone || this.closedByUs) {
      cb(new Error('The TLS connection is not open.'));
      return;
    }
    this.conn.prepare(chunk.toString('latin1'));
    cb();
  }

  /** end(): our close_notify. */
  override _final(cb: (err?: Error | null) => void): void {
    if (this.handshakeDone && !this.closedByUs) {
      this.closedByUs = true;
      this.conn.close();
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.carrier.off('data', this.onCarrierData);
    this.carrier.off('end', this.onCarrierEnd);
    this.carrier.destroy();
    this.carrier.off('error', this.onCarrierError);
    this.carrier.on('error', () => undefined); // nothing reads it any more
    cb(err);
  }

  private onConnected(): void {
    this.handshakeDone = true;
    this.emit('secure');
  }

  private receive(chunk: Buffer): void {
    if (this.destroyed) return;
    if (this.closedByUs) {
      // After our close_notify the engine is reset; the peer's own close_notify (an alert
      // record) ends the session. Anything else cannot be read any more.
      if (chunk[0] === ALERT_RECORD) this.endReadable();
      return;
    }
    this.conn.process(chunk.toString('latin1'));
  }

  private sendRecords(bytes: string): void {
    // The peer's close_notify is never answered: it may already speak plaintext again.
    if (bytes.length === 0 || (!this.conn.open && !this.closedByUs && this.handshakeDone)) return;
    if (!this.carrier.destroyed) this.carrier.write(Buffer.from(bytes, 'latin1'));
  }

  private endReadable(): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.push(null);
  }
}
