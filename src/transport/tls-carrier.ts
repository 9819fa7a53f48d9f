/**
 * The pieces of a Link's TLS that do not need the link: the carrier stream the TLS engine reads
 * whole records from (when TLS may end again), option conversion, and the link's errors.
 */
import type { X509Certificate } from 'node:crypto';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { IbackupError } from '../errors.js';
import type { TlsOptions } from './link.js';

/** The carrier the TLS engine reads from and writes to; we push whole records into it. */
export class Carrier extends Duplex {
  dropWrites = false;
  constructor(private readonly raw: Duplex) {
    super({ allowHalfOpen: true });
  }
  override _read(): void {
    // data is pushed by the link
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.dropWrites || this.raw.destroyed) {
      cb();
      return;
    }
    this.raw.write(chunk, (err) => cb(err ?? null));
  }
  override _final(cb: (err?: Error | null) => void): void {
    cb(); // never end the raw socket: it goes on in plaintext
  }
}

/** What a Link needs of a TLS engine (tls.TLSSocket, or the legacy server): a Duplex of plaintext. */
export interface TlsEngine extends Duplex {
  readonly encrypted: boolean;
  getProtocol(): string | null;
  getPeerX509Certificate(): X509Certificate | undefined;
}

function toPem(v: string | Uint8Array): string {
  return typeof v === 'string' ? v : Buffer.from(v).toString('latin1');
}

type VersionOptions = Pick<tls.SecureContextOptions, 'minVersion' | 'maxVersion' | 'ciphers' | 'secureOptions'>;

function versions(opts: TlsOptions): VersionOptions {
  const out: VersionOptions = {};
  if (opts.minVersion) out.minVersion = opts.minVersion;
  if (opts.maxVersion) out.maxVersion = opts.maxVersion;
  if (opts.ciphers) out.ciphers = opts.ciphers;
  if (opts.secureOptions !== undefined) out.secureOptions = opts.secureOptions;
  return out;
}

const contexts = new Map<string, tls.SecureContext>();
const MAX_CONTEXTS = 16;

/**
 * The TLS context of a certificate and key, made once and reused: a backup opens a dozen TLS
 * connections with the same pair record, and parsing the key again for each costs more than the
 * handshake's own cryptography.
 */
export function secureContextFor(opts: TlsOptions): tls.SecureContext {
  const options: tls.SecureContextOptions = { cert: toPem(opts.cert), key: toPem(opts.key), ...versions(opts) };
  const id = JSON.stringify([
    options.cert,
    options.key,
    options.minVersion,
    options.maxVersion,
    options.ciphers,
    options.secureOptions,
  ]);
  let ctx = contexts.get(id);
  if (!ctx) {
    ctx = tls.createSecureContext(options);
    if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value as string);
    contexts.set(id, ctx);
  }
  return ctx;
}

export function closedError(): IbackupError {
  return new IbackupError('CONNECTION_CLOSED');
}

export function wrapIo(err: Error): IbackupError {
  if (err instanceof IbackupError) return err;
  return new IbackupError('CONNECTION_CLOSED', { message: `The connection failed: ${err.message}`, cause: err });
}
