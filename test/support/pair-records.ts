/**
 * A host-side pair record made the way hosts make one (protocol reference §4.2), with node-forge:
 * RSA-2048 root and host keys, v3 certificates with empty names valid for ten years, the device
 * certificate for the key the phone reports as DevicePublicKey, all signed by the root.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import forge from 'node-forge';
import type { PlistDict } from '../../src/protocol/plist/index.js';

export interface TestPairRecord {
  hostId: string;
  systemBuid: string;
  rootCertPem: string;
  rootKeyPem: string;
  hostCertPem: string;
  hostKeyPem: string;
  deviceCertPem: string;
}

interface ForgeKeys {
  pem: string;
  priv: forge.pki.rsa.PrivateKey;
  pub: forge.pki.rsa.PublicKey;
}

/** An RSA-2048 key made by node:crypto (fast), seen through node-forge. */
export function rsaKey(): ForgeKeys {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const priv = forge.pki.privateKeyFromPem(pem);
  return { pem, priv, pub: forge.pki.setRsaPublicKey(priv.n, priv.e) };
}

function certificate(
  subjectKey: forge.pki.rsa.PublicKey,
  issuerKey: forge.pki.rsa.PrivateKey,
  kind: 'root' | 'host' | 'device',
): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = subjectKey;
  cert.serialNumber = '00';
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + 10 * 365 * 86_400_000);
  cert.setSubject([]);
  cert.setIssuer([]);
  const leaf = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
  ];
  cert.setExtensions(
    kind === 'root'
      ? [{ name: 'basicConstraints', cA: true, critical: true }]
      : kind === 'device'
        ? [...leaf, { name: 'subjectKeyIdentifier' }]
        : leaf,
  );
  cert.sign(issuerKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/**
 * A pair record for a device whose DevicePublicKey is `devicePublicKeyPem` (PKCS#1 PEM as the
 * phone reports it). `otherDeviceKey` issues the device certificate for a different key instead.
 */
export function makePairRecord(
  devicePublicKeyPem: string,
  systemBuid: string,
  opts: { otherDeviceKey?: boolean } = {},
): TestPairRecord {
  const root = rsaKey();
  const host = rsaKey();
  const deviceKey = opts.otherDeviceKey ? rsaKey().pub : forge.pki.publicKeyFromPem(devicePublicKeyPem);
  return {
    hostId: randomUUID().toUpperCase(),
    systemBuid,
    rootCertPem: certificate(root.pub, root.priv, 'root'),
    rootKeyPem: root.pem,
    hostCertPem: certificate(host.pub, root.priv, 'host'),
    hostKeyPem: host.pem,
    deviceCertPem: certificate(deviceKey, root.priv, 'device'),
  };
}

const te = new TextEncoder();

/** The PairRecord of a Pair request (private keys left out, as libimobiledevice does). */
export function pairRequestRecord(r: TestPairRecord): PlistDict {
  return {
    DeviceCertificate: te.encode(r.deviceCertPem),
    HostCertificate: te.encode(r.hostCertPem),
    RootCertificate: te.encode(r.rootCertPem),
    HostID: r.hostId,
    SystemBUID: r.systemBuid,
  };
}
