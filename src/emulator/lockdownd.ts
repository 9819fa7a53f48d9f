/**
 * lockdownd, device side: one conversation on port 62078 — queries, pairing, the TLS session and
 * starting services. What it answers comes from a LockdownBackend (the virtual device); this file
 * only speaks the protocol. Nothing here depends on which client is talking.
 */
import type { X509Certificate } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import type { PlistDict, PlistValue } from '../protocol/plist/index.js';
import { isPlistDict } from '../protocol/plist/index.js';
import type { Link, TlsOptions } from '../transport/link.js';
import { PlistChannel } from '../transport/plist-channel.js';
import { sendsCloseNotifyAfterStopSession } from './ios-connection.js';

/** Error strings exactly as a device sends them in `Error`. */
export type LockdownErrorName =
  | 'InvalidRequest'
  | 'MissingKey'
  | 'MissingValue'
  | 'GetProhibited'
  | 'SetProhibited'
  | 'RemoveProhibited'
  | 'ImmutableValue'
  | 'PasswordProtected'
  | 'UserDeniedPairing'
  | 'PairingDialogResponsePending'
  | 'MissingHostID'
  | 'InvalidHostID'
  | 'SessionActive'
  | 'SessionInactive'
  | 'MissingSessionID'
  | 'InvalidSessionID'
  | 'MissingService'
  | 'InvalidService'
  | 'ServiceLimit'
  | 'MissingPairRecord'
  | 'InvalidPairRecord'
  | 'ServiceProhibited'
  | 'EscrowLocked';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: LockdownErrorName };

export interface StartedService {
  port: number;
  ssl: boolean;
}

/** What lockdownd needs from the device behind it. */
export interface LockdownBackend {
  getValue(domain: string | undefined, key: string | undefined, sessionActive: boolean): Outcome<PlistValue>;
  setValue(domain: string | undefined, key: string, value: PlistValue): Outcome<null>;
  removeValue(domain: string | undefined, key: string): Outcome<null>;
  /** Runs the trust dialog for a Pair request; resolves with the EscrowBag when trusted. */
  pair(record: PlistDict): Promise<Outcome<Uint8Array>>;
  isPaired(hostId: string): boolean;
  unpair(hostId: string): Promise<void>;
  /** The TLS server identity for a session with this host (its DeviceCertificate + device key). */
  tlsServerOptions(hostId: string): TlsOptions;
  /** True when the client certificate is the Root or Host certificate of that host's pairing. */
  acceptsClientCertificate(hostId: string, cert: X509Certificate | undefined): boolean;
  startService(name: string, hostId: string, escrowBag: Uint8Array | undefined): Promise<Outcome<StartedService>>;
}

interface Session {
  id: string;
  hostId: string;
}

/** Serves one lockdown connection until the client closes it or says Goodbye. */
export async function serveLockdown(link: Link, backend: LockdownBackend): Promise<void> {
  const channel = new PlistChannel(link, { format: 'xml', timeoutMs: 0 });
  const conversation = new LockdownConversation(link, backend, channel);
  for (;;) {
    let msg: PlistValue;
    try {
      msg = await channel.receive();
    } catch {
      channel.close();
      return; // closed, or garbage: a device just drops such a client
    }
    if (!isPlistDict(msg) || typeof msg.Request !== 'string') {
      await reply(channel, { Error: 'InvalidRequest' });
      continue;
    }
    if ((await conversation.handle(msg, msg.Request)) === 'end') return;
  }
}

/** What follows a request: the next one, or the end of the connection. */
type Next = 'next' | 'end';

/** One client's requests and the session it holds. */
class LockdownConversation {
  private session: Session | undefined;

  constructor(
    private readonly link: Link,
    private readonly backend: LockdownBackend,
    private readonly channel: PlistChannel,
  ) {}

  async handle(msg: PlistDict, request: string): Promise<Next> {
    const base: PlistDict = { Request: request };
    switch (request) {
      case 'QueryType':
        await reply(this.channel, { ...base, Type: 'com.apple.mobile.lockdown' });
        return 'next';
      case 'GetValue':
        return this.getValue(msg, base);
      case 'SetValue':
        return this.setValue(msg, base);
      case 'RemoveValue':
        return this.removeValue(msg, base);
      case 'Pair':
        return this.pair(msg, base);
      case 'ValidatePair':
        return this.validatePair(msg, base);
      case 'Unpair':
        return this.unpair(msg, base);
      case 'StartSession':
        return this.startSession(msg, base);
      case 'StopSession':
        return this.stopSession(msg, base);
      case 'StartService':
        return this.startService(msg, base);
      case 'Goodbye':
        await reply(this.channel, base);
        this.channel.close();
        return 'end';
      default:
        return this.fail(base, 'InvalidRequest');
    }
  }

  private async fail(base: PlistDict, error: LockdownErrorName): Promise<Next> {
    await reply(this.channel, { ...base, Error: error });
    return 'next';
  }

  private async answer(base: PlistDict, r: Outcome<unknown>): Promise<Next> {
    return r.ok ? this.ok(base) : this.fail(base, r.error);
  }

  private async ok(dict: PlistDict): Promise<Next> {
    await reply(this.channel, dict);
    return 'next';
  }

  private async getValue(msg: PlistDict, base: PlistDict): Promise<Next> {
    const domain = optString(msg.Domain);
    const key = optString(msg.Key);
    const r = this.backend.getValue(domain, key, this.session !== undefined);
    const out: PlistDict = { ...base };
    if (domain !== undefined) out.Domain = domain;
    if (key !== undefined) out.Key = key;
    return this.ok(r.ok ? { ...out, Value: r.value } : { ...out, Error: r.error });
  }

  private async setValue(msg: PlistDict, base: PlistDict): Promise<Next> {
    const key = optString(msg.Key);
    const value = msg.Value;
    if (!this.session) return this.fail(base, 'SessionInactive');
    if (key === undefined) return this.fail(base, 'MissingKey');
    if (value === undefined) return this.fail(base, 'MissingValue');
    return this.answer(base, this.backend.setValue(optString(msg.Domain), key, value));
  }

  private async removeValue(msg: PlistDict, base: PlistDict): Promise<Next> {
    const key = optString(msg.Key);
    if (!this.session) return this.fail(base, 'SessionInactive');
    if (key === undefined) return this.fail(base, 'MissingKey');
    return this.answer(base, this.backend.removeValue(optString(msg.Domain), key));
  }

  private async pair(msg: PlistDict, base: PlistDict): Promise<Next> {
    const record = msg.PairRecord;
    if (!isPlistDict(record)) return this.fail(base, 'MissingPairRecord');
    const r = await this.backend.pair(record);
    return r.ok ? this.ok({ ...base, EscrowBag: r.value }) : this.fail(base, r.error);
  }

  private async validatePair(msg: PlistDict, base: PlistDict): Promise<Next> {
    const hostId = hostIdOf(msg.PairRecord);
    if (hostId === undefined) return this.fail(base, 'MissingHostID');
    return this.backend.isPaired(hostId) ? this.ok(base) : this.fail(base, 'InvalidHostID');
  }

  private async unpair(msg: PlistDict, base: PlistDict): Promise<Next> {
    const hostId = hostIdOf(msg.PairRecord);
    if (hostId === undefined) return this.fail(base, 'MissingHostID');
    if (!this.backend.isPaired(hostId)) return this.fail(base, 'InvalidHostID');
    await this.backend.unpair(hostId);
    return this.ok(base);
  }

  private async startSession(msg: PlistDict, base: PlistDict): Promise<Next> {
    const hostId = optString(msg.HostID);
    if (hostId === undefined) return this.fail(base, 'MissingHostID');
    if (!this.backend.isPaired(hostId)) return this.fail(base, 'InvalidHostID');
    if (this.session) return this.fail(base, 'SessionActive');
    const id = randomUUID().toUpperCase();
    await reply(this.channel, { ...base, SessionID: id, EnableSessionSSL: true });
    try {
      await this.channel.startTlsServer(this.backend.tlsServerOptions(hostId));
    } catch {
      this.channel.close();
      return 'end';
    }
    if (!this.backend.acceptsClientCertificate(hostId, this.link.peerCertificate())) {
      this.channel.close(); // a device drops a client whose certificate it did not pair with
      return 'end';
    }
    this.session = { id, hostId };
    return 'next';
  }

  private async stopSession(msg: PlistDict, base: PlistDict): Promise<Next> {
    const id = optString(msg.SessionID);
    if (id === undefined) return this.fail(base, 'MissingSessionID');
    if (!this.session || this.session.id !== id) return this.fail(base, 'InvalidSessionID');
    this.session = undefined;
    // The reply travels inside TLS; the client then sends close_notify and may go on in
    // plaintext. From iOS 13 the phone sends its own close_notify right after the reply.
    const replied = reply(this.channel, { ...base, Result: 'Success' });
    if (closesTlsAfterStopSession(this.backend)) await this.channel.stopTls().catch(() => undefined);
    await replied;
    return 'next';
  }

  private async startService(msg: PlistDict, base: PlistDict): Promise<Next> {
    const name = optString(msg.Service);
    const escrow = msg.EscrowBag instanceof Uint8Array ? msg.EscrowBag : undefined;
    if (name === undefined) return this.fail(base, 'MissingService');
    if (!this.session) return this.fail(base, 'SessionInactive');
    const r = await this.backend.startService(name, this.session.hostId, escrow);
    if (!r.ok) return this.fail(base, r.error);
    const out: PlistDict = { ...base, Service: name, Port: r.value.port };
    if (r.value.ssl) out.EnableServiceSSL = true;
    return this.ok(out);
  }
}

async function reply(channel: PlistChannel, dict: PlistDict): Promise<boolean> {
  try {
    await channel.send(dict);
    return true;
  } catch {
    channel.close();
    return false;
  }
}

/** Whether this phone ends the session's TLS itself after StopSession (ios-connection.ts). */
function closesTlsAfterStopSession(backend: LockdownBackend): boolean {
  const version = backend.getValue(undefined, 'ProductVersion', true);
  return version.ok && typeof version.value === 'string' && sendsCloseNotifyAfterStopSession(version.value);
}

function optString(v: PlistValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function hostIdOf(record: PlistValue | undefined): string | undefined {
  return isPlistDict(record) ? optString(record.HostID) : undefined;
}
