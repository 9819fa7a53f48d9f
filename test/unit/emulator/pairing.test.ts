import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import {
  ESCROW_BAG_LENGTH,
  generateEscrowBag,
  isAcceptedClientCertificate,
  pairingFromRecord,
  validatePairRecord,
  type PairRecordCheck,
} from '../../../src/emulator/pairing.js';
import type { PlistDict } from '../../../src/protocol/plist/types.js';

interface RsaPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** node-forge's view of the same key. */
  forgePrivate: forge.pki.rsa.PrivateKey;
  forgePublic: forge.pki.rsa.PublicKey;
  publicPkcs1: string;
}

function rsa(): RsaPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return {
    privateKey,
    publicKey,
    forgePrivate: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
    forgePublic: forge.pki.publicKeyFromPem(publicPkcs1),
    publicPkcs1,
  };
}

/** A pairing certificate the way hosts make them: v3, empty names, 10 years, signed by `issuer`. */
function certificate(
  subject: forge.pki.rsa.PublicKey,
  issuer: forge.pki.rsa.PrivateKey,
  ca: boolean,
  sha1 = false,
): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = subject;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  cert.setSubject([]);
  cert.setIssuer([]);
  cert.setExtensions(
    ca
      ? [{ name: 'basicConstraints', cA: true, critical: true }]
      : [
          { name: 'basicConstraints', cA: false, critical: true },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        ],
  );
  cert.sign(issuer, sha1 ? forge.md.sha1.create() : forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

const te = new TextEncoder();
const device = rsa();
const root = rsa();
const host = rsa();
const otherRoot = rsa();
const stranger = rsa();

const HOST_ID = '5B9D0E4C-2F3A-4C1B-9E8D-7A6B5C4D3E2F';
const ROOT_PEM = certificate(root.forgePublic, root.forgePrivate, true);
const HOST_PEM = certificate(host.forgePublic, root.forgePrivate, false);
const DEVICE_PEM = certificate(device.forgePublic, root.forgePrivate, false);

function record(changes: Partial<Record<string, string | Uint8Array | number | undefined>> = {}): PlistDict {
  const base: Record<string, string | Uint8Array | number | undefined> = {
    DeviceCertificate: te.encode(DEVICE_PEM),
    HostCertificate: te.encode(HOST_PEM),
    RootCertificate: te.encode(ROOT_PEM),
    HostID: HOST_ID,
    SystemBUID: 'A1B2C3D4-0000-1111-2222-333344445555',
    ...changes,
  };
  const out: PlistDict = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) out[k] = v;
  return out;
}

function expectError(check: PairRecordCheck, error: string): void {
  assert.equal(check.ok, false, 'the record should have been refused');
  if (!check.ok) {
    assert.equal(check.error, error, check.reason);
    assert.ok(check.reason.length > 0);
  }
}

describe('validatePairRecord', () => {
  test('accepts a valid record and returns its host, BUID and certificates', () => {
    const check = validatePairRecord(record(), device.publicPkcs1);
    assert.ok(check.ok, check.ok ? '' : check.reason);
    assert.equal(check.hostId, HOST_ID);
    assert.equal(check.systemBuid, 'A1B2C3D4-0000-1111-2222-333344445555');
    assert.ok(check.certs.device.publicKey.equals(device.publicKey));
    assert.ok(check.certs.host.publicKey.equals(host.publicKey));
    assert.equal(new TextDecoder().decode(check.certs.rootPem), ROOT_PEM);
  });

  test('accepts the device key in every form it is held in', () => {
    for (const key of [
      device.publicPkcs1,
      te.encode(device.publicPkcs1),
      device.publicKey,
      device.privateKey,
      device.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    ]) {
      assert.ok(validatePairRecord(record(), key).ok);
    }
  });

  test('accepts SHA-1 signed certificates (older libimobiledevice), PEM strings and DER', () => {
    const sha1 = record({
      RootCertificate: certificate(root.forgePublic, root.forgePrivate, true, true),
      HostCertificate: certificate(host.forgePublic, root.forgePrivate, false, true),
      DeviceCertificate: certificate(device.forgePublic, root.forgePrivate, false, true),
    });
    assert.ok(validatePairRecord(sha1, device.publicPkcs1).ok);
    const der = record({ DeviceCertificate: new Uint8Array(new X509Certificate(DEVICE_PEM).raw) });
    assert.ok(validatePairRecord(der, device.publicPkcs1).ok);
  });

  test('a device certificate for another key is an InvalidPairRecord', () => {
    const wrong = record({ DeviceCertificate: te.encode(certificate(stranger.forgePublic, root.forgePrivate, false)) });
    expectError(validatePairRecord(wrong, device.publicPkcs1), 'InvalidPairRecord');
    expectError(validatePairRecord(record(), stranger.publicPkcs1), 'InvalidPairRecord');
  });

  test('certificates signed by another root are an InvalidPairRecord', () => {
    const deviceByOther = record({
      DeviceCertificate: te.encode(certificate(device.forgePublic, otherRoot.forgePrivate, false)),
    });
    expectError(validatePairRecord(deviceByOther, device.publicPkcs1), 'InvalidPairRecord');
    const hostByOther = record({
      HostCertificate: te.encode(certificate(host.forgePublic, otherRoot.forgePrivate, false)),
    });
    expectError(validatePairRecord(hostByOther, device.publicPkcs1), 'InvalidPairRecord');
    const otherRootCert = record({
      RootCertificate: te.encode(certificate(otherRoot.forgePublic, otherRoot.forgePrivate, true)),
    });
    expectError(validatePairRecord(otherRootCert, device.publicPkcs1), 'InvalidPairRecord');
  });

  test('garbage, truncated or missing certificates are an InvalidPairRecord', () => {
    const garbage = te.encode('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    for (const name of ['RootCertificate', 'HostCertificate', 'DeviceCertificate']) {
      expectError(validatePairRecord(record({ [name]: garbage }), device.publicPkcs1), 'InvalidPairRecord');
      expectError(
        validatePairRecord(record({ [name]: te.encode(DEVICE_PEM.slice(0, 200)) }), device.publicPkcs1),
        'InvalidPairRecord',
      );
      expectError(validatePairRecord(record({ [name]: new Uint8Array(0) }), device.publicPkcs1), 'InvalidPairRecord');
      expectError(validatePairRecord(record({ [name]: 42 }), device.publicPkcs1), 'InvalidPairRecord');
      expectError(validatePairRecord(record({ [name]: undefined }), device.publicPkcs1), 'InvalidPairRecord');
    }
    expectError(validatePairRecord(record({ SystemBUID: 7 }), device.publicPkcs1), 'InvalidPairRecord');
  });

  test('a missing HostID is MissingHostID; a missing record is MissingPairRecord', () => {
    expectError(validatePairRecord(record({ HostID: undefined }), device.publicPkcs1), 'MissingHostID');
    expectError(validatePairRecord(record({ HostID: '' }), device.publicPkcs1), 'MissingHostID');
    expectError(validatePairRecord(record({ HostID: 12 }), device.publicPkcs1), 'MissingHostID');
    expectError(validatePairRecord(record({ HostID: 'a\nb' }), device.publicPkcs1), 'InvalidPairRecord');
    expectError(validatePairRecord(undefined, device.publicPkcs1), 'MissingPairRecord');
    expectError(validatePairRecord('record', device.publicPkcs1), 'MissingPairRecord');
  });

  test('the SystemBUID may be absent', () => {
    const check = validatePairRecord(record({ SystemBUID: undefined }), device.publicPkcs1);
    assert.ok(check.ok);
    assert.equal(check.systemBuid, undefined);
    const stored = pairingFromRecord(check, { fallbackSystemBuid: 'FALLBACK', now: new Date(0) });
    assert.equal(stored.systemBuid, 'FALLBACK');
  });
});

describe('isAcceptedClientCertificate', () => {
  const stored = { rootCertificate: te.encode(ROOT_PEM), hostCertificate: te.encode(HOST_PEM) };

  test('accepts the stored Root or Host certificate in any encoding', () => {
    assert.equal(isAcceptedClientCertificate(ROOT_PEM, stored), true);
    assert.equal(isAcceptedClientCertificate(te.encode(HOST_PEM), stored), true);
    assert.equal(isAcceptedClientCertificate(new Uint8Array(new X509Certificate(ROOT_PEM).raw), stored), true);
    assert.equal(isAcceptedClientCertificate(new X509Certificate(HOST_PEM), stored), true);
  });

  test('refuses any other certificate, garbage or none', () => {
    assert.equal(isAcceptedClientCertificate(DEVICE_PEM, stored), false);
    assert.equal(
      isAcceptedClientCertificate(certificate(otherRoot.forgePublic, otherRoot.forgePrivate, true), stored),
      false,
    );
    assert.equal(
      isAcceptedClientCertificate(certificate(host.forgePublic, otherRoot.forgePrivate, false), stored),
      false,
    );
    assert.equal(isAcceptedClientCertificate(te.encode('garbage'), stored), false);
    assert.equal(isAcceptedClientCertificate(new Uint8Array(0), stored), false);
    assert.equal(isAcceptedClientCertificate(undefined, stored), false);
    assert.equal(isAcceptedClientCertificate(null, stored), false);
  });
});

describe('EscrowBag and the stored pairing', () => {
  test('EscrowBags are 32 random bytes; the random source is injectable', () => {
    const a = generateEscrowBag();
    const b = generateEscrowBag();
    assert.equal(a.length, ESCROW_BAG_LENGTH);
    assert.equal(ESCROW_BAG_LENGTH, 32);
    assert.notDeepEqual(a, b);
    assert.deepEqual(
      generateEscrowBag((n) => new Uint8Array(n).fill(7)),
      new Uint8Array(32).fill(7),
    );
  });

  test('pairingFromRecord keeps what the host sent', () => {
    const check = validatePairRecord(record(), device.publicPkcs1);
    assert.ok(check.ok);
    const bag = new Uint8Array(32).fill(1);
    const when = new Date(Date.UTC(2024, 0, 1));
    const p = pairingFromRecord(check, { escrowBag: bag, now: when });
    assert.equal(p.hostId, HOST_ID);
    assert.equal(new TextDecoder().decode(p.deviceCertificate), DEVICE_PEM);
    assert.equal(new TextDecoder().decode(p.hostCertificate), HOST_PEM);
    assert.equal(new TextDecoder().decode(p.rootCertificate), ROOT_PEM);
    assert.equal(p.systemBuid, 'A1B2C3D4-0000-1111-2222-333344445555');
    assert.deepEqual(p.escrowBag, bag);
    assert.deepEqual(p.pairedAt, when);
    assert.ok(isAcceptedClientCertificate(ROOT_PEM, p));
    assert.ok(createPublicKey(device.publicPkcs1).equals(check.certs.device.publicKey));
  });
});
