/**
 * lockdownd client: values, pairing, the TLS session and starting services, over one connection
 * to port 62078. Wire errors become IbackupErrors through the table in errors.ts.
 */
import { constants } from 'node:crypto';
import { IbackupError } from '../../errors.js';
import { isPlistDict, type PlistDict, type PlistValue } from '../../protocol/plist/index.js';
import type { Link } from '../../transport/link.js';
import { PlistChannel } from '../../transport/plist-channel.js';
import { lockdownError } from './errors.js';
import { pairRequestRecord, type PairRecord } from './pairing.js';

export const LOCKDOWN_PORT = 62078;
const LABEL = 'ibackup';

export interface StartedService {
  port: number;
  ssl: boolean;
}

export interface LockdownClientOptions {
  /** Reply timeout (default 10 s). */
  timeoutMs?: number;
}

export class LockdownClient {
  private readonly channel: PlistChannel;
  private sessionId: string | undefined;
  private productVersion: string | undefined;

  constructor(link: Link, opts: LockdownClientOptions = {}) {
    this.channel = new PlistChannel(link, { format: 'xml', timeoutMs: opts.timeoutMs ?? 10_000 });
  }

  get inSession(): boolean {
    return this.sessionId !== undefined;
  }

  /** One request and its reply; an `Error` in the reply throws its IbackupError. */
  async request(name: string, fields: PlistDict = {}): Promise<PlistDict> {
    const reply = await this.channel.request({ Label: LABEL, Request: name, ...fields });
    if (!isPlistDict(reply)) {
      throw new IbackupError('PROTOCOL_DECODE', {
        message: `The iPhone answered ${name} with something other than a dictionary.`,
      });
    }
    if (typeof reply.Error === 'string') throw lockdownError(reply.Error, name);
    if (reply.Result === 'Failure') throw lockdownError('InvalidResponse', name);
    return reply;
  }

  async queryType(): Promise<string> {
    const r = await this.request('QueryType');
    if (typeof r.Type !== 'string')
      throw new IbackupError('PROTOCOL_DECODE', { message: 'QueryType answered without a Type.' });
    return r.Type;
  }

  async getValue(domain?: string, key?: string): Promise<PlistValue> {
    const fields: PlistDict = {};
    if (domain !== undefined) fields.Domain = domain;
    if (key !== undefined) fields.Key = key;
    const r = await this.request('GetValue', fields);
    const v = r.Value;
    if (v === undefined) throw lockdownError('MissingValue', 'GetValue');
    if (domain === undefined && key === 'ProductVersion' && typeof v === 'string') this.productVersion = v;
    return v;
  }

  /** A whole domain as a dictionary ({} when the device has nothing there). */
  async getDomain(domain?: string): Promise<PlistDict> {
    const v = await this.getValue(domain);
    return isPlistDict(v) ? v : {};
  }

  async setValue(domain: string | undefined, key: string, value: PlistValue): Promise<void> {
    await this.request('SetValue', { ...(domain === undefined ? {} : { Domain: domain }), Key: key, Value: value });
  }

  /** Asks the device to trust this host; resolves with the EscrowBag once the owner tapped Trust. */
  async pair(record: PairRecord): Promise<Uint8Array> {
    const r = await this.request('Pair', {
      PairRecord: pairRequestRecord(record),
      ProtocolVersion: '2',
      PairingOptions: { ExtendedPairingErrors: true },
    });
    if (!(r.EscrowBag instanceof Uint8Array)) {
      throw new IbackupError('PROTOCOL_DECODE', { message: 'The iPhone accepted pairing but sent no EscrowBag.' });
    }
    return r.EscrowBag;
  }

  async validatePair(record: PairRecord): Promise<void> {
    await this.request('ValidatePair', { PairRecord: pairRequestRecord(record), ProtocolVersion: '2' });
  }

  async unpair(hostId: string): Promise<void> {
    await this.request('Unpair', { PairRecord: { HostID: hostId }, ProtocolVersion: '2' });
  }

  /** StartSession, then TLS on this connection as the device asks. */
  async startSession(record: PairRecord): Promise<void> {
    if (this.sessionId !== undefined) await this.stopSession();
    const version: string = this.productVersion ?? String(await this.getValue(undefined, 'ProductVersion'));
    const r = await this.request('StartSession', { HostID: record.HostID, SystemBUID: record.SystemBUID });
    if (typeof r.SessionID !== 'string')
      throw new IbackupError('PROTOCOL_DECODE', { message: 'StartSession answered without a SessionID.' });
    this.sessionId = r.SessionID;
    if (r.EnableSessionSSL === true) await this.channel.startTlsClient(tlsOptions(record, version));
  }

  async stopSession(): Promise<void> {
    const id = this.sessionId;
    if (id === undefined) return;
    this.sessionId = undefined;
    await this.request('StopSession', { SessionID: id });
    await this.channel.stopTls();
  }

  async startService(name: string, escrowBag?: Uint8Array): Promise<StartedService> {
    const r = await this.request('StartService', { Service: name, ...(escrowBag ? { EscrowBag: escrowBag } : {}) });
    if (typeof r.Port !== 'number')
      throw new IbackupError('PROTOCOL_DECODE', { message: `StartService ${name} answered without a Port.` });
    return { port: r.Port, ssl: r.EnableServiceSSL === true };
  }

  async goodbye(): Promise<void> {
    try {
      await this.request('Goodbye');
    } finally {
      this.close();
    }
  }

  close(): void {
    this.channel.close();
  }
}

/**
 * TLS as the device's iOS version allows: TLS 1.0 and security level 0 below iOS 10 (as
 * libimobiledevice's idevice.c (master fa0f791) ~line 1262). Legacy renegotiation is allowed for
 * every iOS, as idevice.c ~line 1289 and pymobiledevice3 (service_connection.py ~line 442) do:
 * phones before iOS 10 do not send the secure-renegotiation extension, and OpenSSL 3 refuses such
 * a server otherwise ("unsafe legacy renegotiation disabled", libimobiledevice issue 1270).
 */
export function tlsOptions(
  record: PairRecord,
  productVersion: string,
): {
  cert: Uint8Array;
  key: Uint8Array;
  minVersion: 'TLSv1' | 'TLSv1.2';
  maxVersion?: 'TLSv1';
  ciphers?: string;
  secureOptions: number;
} {
  const major = Number(productVersion.split('.')[0]);
  const legacy = Number.isFinite(major) && major < 10;
  return {
    cert: record.HostCertificate,
    key: record.HostPrivateKey,
    minVersion: legacy ? 'TLSv1' : 'TLSv1.2',
    ...(legacy ? { maxVersion: 'TLSv1' as const, ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
    secureOptions: constants.SSL_OP_LEGACY_SERVER_CONNECT,
  };
}
