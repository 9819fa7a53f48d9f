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
  let session: Session | undefined;
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
    const request = msg.Request;
    const base: PlistDict = { Request: request };
    const fail = (error: LockdownErrorName): Promise<boolean> => reply(channel, { ...base, Error: error });
    switch (request) {
      case 'QueryType':
        await reply(channel, { ...base, Type: 'com.apple.mobile.lockdown' });
        break;
      case 'GetValue': {
        const domain = optString(msg.Domain);
        const key = optString(msg.Key);
        const r = backend.getValue(domain, key, session !== undefined);
        const out: PlistDict = { ...base };
        if (domain !== undefined) out.Domain = domain;
        if (key !== undefined) out.Key = key;
        if (r.ok) await reply(channel, { ...out, Value: r.value });
        else await reply(channel, { ...out, Error: r.error });
        break;
      }
      case 'SetValue': {
        const key = optString(msg.Key);
        const value = msg.Value;
        if (!session) await fail('SessionInactive');
        else if (key === undefined) await fail('MissingKey');
        else if (value === undefined) await fail('MissingValue');
        else {
          const r = backend.setValue(optString(msg.Domain), key, value);
          await (r.ok ? reply(channel, base) : fail(r.error));
        }
        break;
      }
      case 'RemoveValue': {
        const key = optString(msg.Key);
        if (!session) await fail('SessionInactive');
        else if (key === undefined) await fail('MissingKey');
        else {
          const r = backend.removeValue(optString(msg.Domain), key);
          await (r.ok ? reply(channel, base) : fail(r.error));
        }
        break;
      }
      case 'Pair': {
        const record = msg.PairRecord;
        if (!isPlistDict(record)) {
          await fail('MissingPairRecord');
          break;
        }
        const r = await backend.pair(record);
        await (r.ok ? reply(channel, { ...base, EscrowBag: r.value }) : fail(r.error));
        break;
      }
      case 'ValidatePair': {
        const hostId = hostIdOf(msg.PairRecord);
        if (hostId === undefined) await fail('MissingHostID');
        else await (backend.isPaired(hostId) ? reply(channel, base) : fail('InvalidHostID'));
        break;
      }
      case 'Unpair': {
        const hostId = hostIdOf(msg.PairRecord);
        if (hostId === undefined) await fail('MissingHostID');
        else if (!backend.isPaired(hostId)) await fail('InvalidHostID');
        else {
          await backend.unpair(hostId);
          await reply(channel, base);
        }
        break;
      }
      case 'StartSession': {
        const hostId = optString(msg.HostID);
        if (hostId === undefined) {
          await fail('MissingHostID');
          break;
        }
        if (!backend.isPaired(hostId)) {
          await fail('InvalidHostID');
          break;
        }
        if (session) {
          await fail('SessionActive');
          break;
        }
        const id = randomUUID().toUpperCase();
        await reply(channel, { ...base, SessionID: id, EnableSessionSSL: true });
        try {
          await channel.startTlsServer(backend.tlsServerOptions(hostId));
        } catch {
          channel.close();
          return;
        }
        if (!backend.acceptsClientCertificate(hostId, link.peerCertificate())) {
          channel.close(); // a device drops a client whose certificate it did not pair with
          return;
        }
        session = { id, hostId };
        break;
      }
      case 'StopSession': {
        const id = optString(msg.SessionID);
        if (id === undefined) await fail('MissingSessionID');
        else if (!session || session.id !== id) await fail('InvalidSessionID');
        else {
          session = undefined;
          // The reply travels inside TLS; the client then sends close_notify and may go on in
          // plaintext. From iOS 13 the phone sends its own close_notify right after the reply.
          const replied = reply(channel, { ...base, Result: 'Success' });
          if (closesTlsAfterStopSession(backend)) await channel.stopTls().catch(() => undefined);
          await replied;
        }
        break;
      }
      case 'StartService': {
        const name = optString(msg.Service);
        const escrow = msg.EscrowBag instanceof Uint8Array ? msg.EscrowBag : undefined;
        if (name === undefined) await fail('MissingService');
        else if (!session) await fail('SessionInactive');
        else {
          const r = await backend.startService(name, session.hostId, escrow);
          if (!r.ok) await fail(r.error);
          else {
            const out: PlistDict = { ...base, Service: name, Port: r.value.port };
            if (r.value.ssl) out.EnableServiceSSL = true;
            await reply(channel, out);
          }
        }
        break;
      }
      case 'Goodbye':
        await reply(channel, base);
        channel.close();
        return;
      default:
        await fail('InvalidRequest');
    }
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
