// TLS between ibackup's host and the virtual iPhone as each iOS generation speaks it: the old
// phone's TLS 1.0 server without the secure-renegotiation extension (and the host's legacy
// option that accepts it), the modern phone's TLS 1.2 with ECDHE-RSA-AES256-GCM-SHA384, and the
// way back to plaintext when the phone itself ends TLS first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { tlsOptions } from '../../../src/host/lockdown/client.js';
import type { PairRecord } from '../../../src/host/lockdown/pairing.js';
import { serverTlsFor } from '../../../src/emulator/ios-connection.js';
import { hasCode } from '../../../src/errors.js';
import { Link, type TlsOptions } from '../../../src/transport/link.js';
import { PlistChannel } from '../../../src/transport/plist-channel.js';
import { makeSelfSigned } from '../../support/certs.js';
import { socketPair } from '../../support/socket-pair.js';

const device = makeSelfSigned('device');
const host = makeSelfSigned('host');
const record = {
  HostCertificate: Buffer.from(host.certPem),
  HostPrivateKey: Buffer.from(host.keyPem),
} as Partial<PairRecord> as PairRecord;

function deviceTls(version: string): TlsOptions {
  return { cert: device.certPem, key: device.keyPem, timeoutMs: 5000, ...serverTlsFor(version) };
}

/** Host and device channels on one socket, TLS started as StartSession does. */
async function session(version: string, hostTls: TlsOptions = { ...tlsOptions(record, version), timeoutMs: 5000 }) {
  const sockets = await socketPair();
  const hostCh = new PlistChannel(new Link(sockets.a), { timeoutMs: 5000 });
  const devCh = new PlistChannel(new Link(sockets.b), { timeoutMs: 5000 });
  const handshakes = await Promise.allSettled([
    devCh.startTlsServer(deviceTls(version)),
    hostCh.startTlsClient(hostTls),
  ]);
  return { ...sockets, hostCh, devCh, handshakes };
}

/** StopSession's reply, then plaintext both ways on the same socket. */
async function backToPlaintext(hostCh: PlistChannel, devCh: PlistChannel, deviceClosesFirst: boolean): Promise<void> {
  await hostCh.send({ Request: 'StopSession' });
  assert.deepEqual(await devCh.receive(), { Request: 'StopSession' });
  const replied = devCh.send({ Request: 'StopSession', Result: 'Success' });
  if (deviceClosesFirst) await devCh.stopTls(); // the phone's own close_notify right after its reply
  await replied;
  assert.deepEqual(await hostCh.receive(), { Request: 'StopSession', Result: 'Success' });
  await hostCh.stopTls();
  for (let i = 0; i < 2; i++) {
    await hostCh.send({ Request: 'GetValue', Key: `K${i}` });
    assert.deepEqual(await devCh.receive(), { Request: 'GetValue', Key: `K${i}` });
    await devCh.send({ Request: 'GetValue', Value: i });
    assert.deepEqual(await hostCh.receive(), { Request: 'GetValue', Value: i });
  }
  assert.equal(hostCh.link.encrypted, false);
  assert.equal(devCh.link.encrypted, false);
}

test('a phone before iOS 10: TLS 1.0 without renegotiation_info, accepted by the host as libimobiledevice does', async () => {
  const s = await session('9.3');
  try {
    assert.deepEqual(
      s.handshakes.map((h) => h.status),
      ['fulfilled', 'fulfilled'],
      String(s.handshakes.find((h) => h.status === 'rejected')?.reason),
    );
    assert.equal(s.hostCh.link.tlsVersion(), 'TLSv1');
    assert.equal(s.devCh.link.tlsVersion(), 'TLSv1');
    assert.match(s.devCh.link.peerCertificate()?.subject ?? '', /host/, 'the phone sees the host certificate');
    await s.hostCh.send({ Request: 'GetValue', Key: 'DeviceName' });
    assert.deepEqual(await s.devCh.receive(), { Request: 'GetValue', Key: 'DeviceName' });
    await s.devCh.send({ Value: 'x'.repeat(40_000) }); // more than one TLS record
    assert.deepEqual(await s.hostCh.receive(), { Value: 'x'.repeat(40_000) });
    await backToPlaintext(s.hostCh, s.devCh, false);
  } finally {
    s.close();
  }
});

test('without the legacy option an OpenSSL 3 client refuses that phone, as in libimobiledevice issue 1270', async () => {
  const { secureOptions: _dropped, ...withoutLegacy } = tlsOptions(record, '9.3');
  const s = await session('9.3', { ...withoutLegacy, timeoutMs: 5000 });
  try {
    const hostSide = s.handshakes[1];
    assert.equal(hostSide?.status, 'rejected');
    assert.ok(hostSide.status === 'rejected' && hasCode(hostSide.reason, 'PROTOCOL_DECODE'));
    assert.match((hostSide.reason as Error).message, /unsafe legacy renegotiation/);
  } finally {
    s.close();
  }
});

test('the old phone ending TLS first: its close_notify does not break the plaintext after it', async () => {
  const s = await session('9.3');
  try {
    await backToPlaintext(s.hostCh, s.devCh, true);
  } finally {
    s.close();
  }
});

for (const version of ['12.5.7', '17.5']) {
  test(`iOS ${version}: TLS 1.2 with ECDHE-RSA-AES256-GCM-SHA384 even to a client offering TLS 1.3`, async () => {
    const { a, b, close } = await socketPair();
    try {
      const devLink = new Link(b);
      const serving = devLink.startTlsServer(deviceTls(version));
      const client = tls.connect({
        socket: a,
        cert: host.certPem,
        key: host.keyPem,
        rejectUnauthorized: false,
        maxVersion: 'TLSv1.3',
      });
      await new Promise<void>((resolve, reject) => client.once('secureConnect', resolve).once('error', reject));
      await serving;
      assert.equal(client.getProtocol(), 'TLSv1.2');
      assert.equal(client.getCipher().name, 'ECDHE-RSA-AES256-GCM-SHA384');
      client.destroy();
    } finally {
      close();
    }
  });
}

test('iOS 17: the phone sends its close_notify right after the StopSession reply; the host goes on in plaintext', async () => {
  const s = await session('17.5');
  try {
    assert.equal(s.hostCh.link.tlsVersion(), 'TLSv1.2');
    await backToPlaintext(s.hostCh, s.devCh, true);
  } finally {
    s.close();
  }
});

test('iOS 17: the phone close_notify arriving after the host already went back to plaintext', async () => {
  const s = await session('17.5');
  try {
    await s.hostCh.send({ Request: 'StopSession' });
    assert.deepEqual(await s.devCh.receive(), { Request: 'StopSession' });
    await s.devCh.send({ Request: 'StopSession', Result: 'Success' });
    assert.deepEqual(await s.hostCh.receive(), { Request: 'StopSession', Result: 'Success' });
    const hostStopped = s.hostCh.stopTls();
    // The phone's close_notify crosses the host's on the wire.
    await s.devCh.stopTls();
    await hostStopped;
    await s.hostCh.send({ Request: 'QueryType' });
    assert.deepEqual(await s.devCh.receive(), { Request: 'QueryType' });
    await s.devCh.send({ Type: 'com.apple.mobile.lockdown' });
    assert.deepEqual(await s.hostCh.receive(), { Type: 'com.apple.mobile.lockdown' });
  } finally {
    s.close();
  }
});

test('a service socket of the old phone (TLS for good): data both ways, and a reset ends the link', async () => {
  const { a, b, close } = await socketPair();
  try {
    const devLink = new Link(b);
    const hostLink = new Link(a);
    await Promise.all([
      devLink.startTlsServer({ ...deviceTls('9.3'), permanent: true }),
      hostLink.startTlsClient({ ...tlsOptions(record, '9.3'), permanent: true, timeoutMs: 5000 }),
    ]);
    const got = new Promise<Buffer>((resolve) => devLink.once('data', resolve));
    await hostLink.write(Buffer.from('ping'));
    assert.equal((await got).toString(), 'ping');
    const back = new Promise<Buffer>((resolve) => hostLink.once('data', resolve));
    await devLink.write(Buffer.from('pong'));
    assert.equal((await back).toString(), 'pong');
    const ended = new Promise<void>((resolve) => devLink.once('end', () => resolve()));
    a.resetAndDestroy();
    await ended;
    assert.equal(devLink.isClosed, true);
  } finally {
    close();
  }
});
