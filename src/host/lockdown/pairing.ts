/**
 * The computer's half of "Trust This Computer": a root certificate authority, a host certificate
 * and a certificate for the device's own key, as a pair record (SHA-256, empty names, 10 years).
 */
import { generateKeyPair, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type forgeModule from 'node-forge';
import { IbackupError } from '../../errors.js';
import type { PlistDict } from '../../protocol/plist/index.js';

type Forge = typeof forgeModule;

/** node-forge is loaded only when a pair record is made (it costs every command's start-up otherwise). */
async function loadForge(): Promise<Forge> {
  return (await import('node-forge')).default;
}

const generateKeyPairAsync = promisify(generateKeyPair);
const encoder = new TextEncoder();
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

/** A complete pair record as hosts store it (PEM text in data fields). */
export interface PairRecord {
  DeviceCertificate: Uint8Array;
  HostCertificate: Uint8Array;
  HostPrivateKey: Uint8Array;
  RootCertificate: Uint8Array;
  RootPrivateKey: Uint8Array;
  HostID: string;
  SystemBUID: string;
  EscrowBag?: Uint8Array;
  WiFiMACAddress?: string;
}

async function rsaKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  return privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

function certificate(
  forge: Forge,
  publicKey: forgeModule.pki.PublicKey,
  signer: forgeModule.pki.rsa.PrivateKey,
  extensions: object[],
  now: Date,
): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = '00';
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + TEN_YEARS_MS);
  cert.setSubject([]);
  cert.setIssuer([]);
  cert.setExtensions(extensions);
  cert.sign(signer, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/**
 * Makes a pair record for a device from its DevicePublicKey (PEM, "RSA PUBLIC KEY").
 * EscrowBag and WiFiMACAddress are added once the device has accepted.
 */
export async function createPairRecord(
  devicePublicKeyPem: Uint8Array | string,
  systemBuid: string,
  now: Date = new Date(),
): Promise<PairRecord> {
  const forge = await loadForge();
  let deviceKey: forgeModule.pki.PublicKey;
  try {
    const pem =
      typeof devicePublicKeyPem === 'string' ? devicePublicKeyPem : new TextDecoder().decode(devicePublicKeyPem);
    deviceKey = forge.pki.publicKeyFromPem(pem);
  } catch (cause) {
    throw new IbackupError('PROTOCOL_DECODE', { message: 'The iPhone sent a public key that cannot be read.', cause });
  }
  const [rootPem, hostPem] = await Promise.all([rsaKeyPem(), rsaKeyPem()]);
  const rootKey = forge.pki.privateKeyFromPem(rootPem) as forgeModule.pki.rsa.PrivateKey;
  const hostKey = forge.pki.privateKeyFromPem(hostPem) as forgeModule.pki.rsa.PrivateKey;
  const rootPublic = forge.pki.setRsaPublicKey(rootKey.n, rootKey.e);
  const hostPublic = forge.pki.setRsaPublicKey(hostKey.n, hostKey.e);
  const leaf = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
  ];
  const rootCert = certificate(
    forge,
    rootPublic,
    rootKey,
    [{ name: 'basicConstraints', cA: true, critical: true }],
    now,
  );
  const hostCert = certificate(forge, hostPublic, rootKey, leaf, now);
  const deviceCert = certificate(forge, deviceKey, rootKey, [...leaf, { name: 'subjectKeyIdentifier' }], now);
  return {
    DeviceCertificate: encoder.encode(deviceCert),
    HostCertificate: encoder.encode(hostCert),
    HostPrivateKey: encoder.encode(hostPem),
    RootCertificate: encoder.encode(rootCert),
    RootPrivateKey: encoder.encode(rootPem),
    HostID: randomUUID().toUpperCase(),
    SystemBUID: systemBuid,
  };
}

/** What a Pair request carries: the record without the private keys. */
export function pairRequestRecord(r: PairRecord): PlistDict {
  return {
    DeviceCertificate: r.DeviceCertificate,
    HostCertificate: r.HostCertificate,
    RootCertificate: r.RootCertificate,
    HostID: r.HostID,
    SystemBUID: r.SystemBUID,
  };
}

export function pairRecordToPlist(r: PairRecord): PlistDict {
  const d: PlistDict = {
    DeviceCertificate: r.DeviceCertificate,
    HostCertificate: r.HostCertificate,
    HostPrivateKey: r.HostPrivateKey,
    RootCertificate: r.RootCertificate,
    RootPrivateKey: r.RootPrivateKey,
    HostID: r.HostID,
    SystemBUID: r.SystemBUID,
  };
  if (r.EscrowBag) d.EscrowBag = r.EscrowBag;
  if (r.WiFiMACAddress !== undefined) d.WiFiMACAddress = r.WiFiMACAddress;
  return d;
}

/** Reads a stored pair record (from usbmuxd or a file); null when it lacks what a session needs. */
export function pairRecordFromPlist(d: PlistDict): PairRecord | null {
  const bytes = (k: string): Uint8Array | undefined => {
    const v = d[k];
    if (v instanceof Uint8Array) return v;
    if (typeof v === 'string') return encoder.encode(v);
    return undefined;
  };
  const need = ['DeviceCertificate', 'HostCertificate', 'HostPrivateKey', 'RootCertificate', 'RootPrivateKey'] as const;
  const got = need.map(bytes);
  if (got.some((v) => v === undefined) || typeof d.HostID !== 'string') return null;
  const [DeviceCertificate, HostCertificate, HostPrivateKey, RootCertificate, RootPrivateKey] = got as Uint8Array[];
  const record: PairRecord = {
    DeviceCertificate: DeviceCertificate as Uint8Array,
    HostCertificate: HostCertificate as Uint8Array,
    HostPrivateKey: HostPrivateKey as Uint8Array,
    RootCertificate: RootCertificate as Uint8Array,
    RootPrivateKey: RootPrivateKey as Uint8Array,
    HostID: d.HostID,
    SystemBUID: typeof d.SystemBUID === 'string' ? d.SystemBUID : '',
  };
  const escrow = bytes('EscrowBag');
  if (escrow) record.EscrowBag = escrow;
  if (typeof d.WiFiMACAddress === 'string') record.WiFiMACAddress = d.WiFiMACAddress;
  return record;
}
