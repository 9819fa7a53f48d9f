/**
 * Device-side checks of "Trust This Computer": whether a Pair request's record is one the phone
 * can accept (certificates for its own key, issued by the host's root), which TLS client
 * certificates belong to a trusted host, and the EscrowBag the phone hands out when it trusts.
 */
import { X509Certificate, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { isPlistDict, type PlistValue } from '../protocol/plist/types.js';
import type { StoredPairing } from './state.js';

/** lockdownd error names a Pair request can fail with because of its record. */
export type PairRecordError = 'MissingPairRecord' | 'MissingHostID' | 'InvalidPairRecord';

export interface PairCertificates {
  root: X509Certificate;
  host: X509Certificate;
  device: X509Certificate;
  /** The certificates' bytes as the host sent them (PEM text). */
  rootPem: Uint8Array;
  hostPem: Uint8Array;
  devicePem: Uint8Array;
}

export type PairRecordCheck =
  | { ok: true; hostId: string; systemBuid: string | undefined; certs: PairCertificates }
  | { ok: false; error: PairRecordError; /** Why, for logs; not sent to the host. */ reason: string };

const MAX_HOST_ID = 128;
const textEncoder = new TextEncoder();

function fail(error: PairRecordError, reason: string): PairRecordCheck {
  return { ok: false, error, reason };
}

function asBytes(v: PlistValue | undefined): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return textEncoder.encode(v);
  return undefined;
}

function parseCertificate(bytes: Uint8Array): X509Certificate | undefined {
  try {
    return new X509Certificate(bytes);
  } catch {
    return undefined;
  }
}

function keyObject(key: string | Uint8Array | KeyObject): KeyObject {
  if (typeof key === 'string' || key instanceof Uint8Array) {
    const pem = typeof key === 'string' ? key : new TextDecoder().decode(key);
    return createPublicKey(pem);
  }
  return key.type === 'private' ? createPublicKey(key) : key;
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  const da = a.export({ type: 'spki', format: 'der' });
  const db = b.export({ type: 'spki', format: 'der' });
  return da.equals(db);
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Checks the PairRecord of a Pair request against the device's key (public or private, PEM or
 * KeyObject): HostID present; Root, Host and Device certificates readable; the Device
 * certificate carries the device's own key; Host and Device certificates are signed by the Root.
 */
export function validatePairRecord(
  record: PlistValue | undefined,
  deviceKey: string | Uint8Array | KeyObject,
): PairRecordCheck {
  if (!isPlistDict(record)) return fail('MissingPairRecord', 'the request has no PairRecord dictionary');
  const hostId = record['HostID'];
  if (typeof hostId !== 'string' || hostId.length === 0) return fail('MissingHostID', 'the record has no HostID');
  if (hostId.length > MAX_HOST_ID || hostId === '__proto__' || !/^[\x20-\x7e]+$/.test(hostId)) {
    return fail('InvalidPairRecord', 'the HostID is not a plausible identifier');
  }
  const systemBuid = record['SystemBUID'];
  if (systemBuid !== undefined && typeof systemBuid !== 'string') {
    return fail('InvalidPairRecord', 'SystemBUID is not a string');
  }

  const pems: Partial<Record<'RootCertificate' | 'HostCertificate' | 'DeviceCertificate', Uint8Array>> = {};
  const certs: Partial<Record<'RootCertificate' | 'HostCertificate' | 'DeviceCertificate', X509Certificate>> = {};
  for (const name of ['RootCertificate', 'HostCertificate', 'DeviceCertificate'] as const) {
    const bytes = asBytes(record[name]);
    if (bytes === undefined) return fail('InvalidPairRecord', `${name} is missing`);
    const cert = parseCertificate(bytes);
    if (cert === undefined) return fail('InvalidPairRecord', `${name} is not a readable certificate`);
    pems[name] = bytes;
    certs[name] = cert;
  }
  const { RootCertificate: root, HostCertificate: host, DeviceCertificate: device } = certs;
  const { RootCertificate: rootPem, HostCertificate: hostPem, DeviceCertificate: devicePem } = pems;
  if (root === undefined || host === undefined || device === undefined)
    return fail('InvalidPairRecord', 'a certificate is missing');
  if (rootPem === undefined || hostPem === undefined || devicePem === undefined)
    return fail('InvalidPairRecord', 'a certificate is missing');

  let ownKey: KeyObject;
  try {
    ownKey = keyObject(deviceKey);
  } catch {
    return fail('InvalidPairRecord', 'the device key is not readable');
  }
  if (!sameKey(device.publicKey, ownKey)) {
    return fail('InvalidPairRecord', "DeviceCertificate is not for this device's key");
  }
  if (!signedBy(device, root)) return fail('InvalidPairRecord', 'DeviceCertificate is not signed by RootCertificate');
  if (!signedBy(host, root)) return fail('InvalidPairRecord', 'HostCertificate is not signed by RootCertificate');

  return {
    ok: true,
    hostId,
    systemBuid,
    certs: { root, host, device, rootPem: rootPem.slice(), hostPem: hostPem.slice(), devicePem: devicePem.slice() },
  };
}

/** DER bytes of a certificate given as DER, PEM text/bytes or an X509Certificate; undefined if unreadable. */
function certificateDer(cert: Uint8Array | string | X509Certificate): Uint8Array | undefined {
  if (cert instanceof X509Certificate) return cert.raw;
  const parsed = parseCertificate(typeof cert === 'string' ? textEncoder.encode(cert) : cert);
  return parsed?.raw;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * True when the TLS client certificate of a connection is the stored Root or Host certificate
 * of that pairing (libimobiledevice with OpenSSL presents the Root one, other hosts the Host one).
 */
export function isAcceptedClientCertificate(
  peerCertificate: Uint8Array | string | X509Certificate | null | undefined,
  pairing: Pick<StoredPairing, 'rootCertificate' | 'hostCertificate'>,
): boolean {
  if (peerCertificate === null || peerCertificate === undefined) return false;
  if (peerCertificate instanceof Uint8Array && peerCertificate.length === 0) return false;
  const peer = certificateDer(peerCertificate);
  if (peer === undefined) return false;
  for (const stored of [pairing.rootCertificate, pairing.hostCertificate]) {
    const der = certificateDer(stored);
    if (der !== undefined && equalBytes(der, peer)) return true;
  }
  return false;
}

/** Length of the EscrowBag a phone returns from Pair (as observed on real devices). */
export const ESCROW_BAG_LENGTH = 32;

/** A fresh EscrowBag: opaque random bytes the host must send back with StartService. */
export function generateEscrowBag(
  random: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n)),
): Uint8Array {
  return random(ESCROW_BAG_LENGTH);
}

/** The pairing to store once the owner trusted the host of a validated record. */
export function pairingFromRecord(
  check: Extract<PairRecordCheck, { ok: true }>,
  options: { escrowBag?: Uint8Array; now?: Date; fallbackSystemBuid?: string } = {},
): StoredPairing {
  return {
    hostId: check.hostId,
    rootCertificate: check.certs.rootPem,
    hostCertificate: check.certs.hostPem,
    deviceCertificate: check.certs.devicePem,
    systemBuid: check.systemBuid ?? options.fallbackSystemBuid ?? '',
    escrowBag: options.escrowBag ?? generateEscrowBag(),
    pairedAt: options.now ?? new Date(),
  };
}
