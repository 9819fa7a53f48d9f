// lockdownd's session TLS per iOS generation, seen from ibackup's lockdown client: from iOS 13 the
// phone sends its own close_notify after answering StopSession (libimobiledevice issue 793),
// before that it does not; either way the client goes on in plaintext, session after session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { serveLockdown, type LockdownBackend } from '../../../src/emulator/lockdownd.js';
import { serverTlsFor } from '../../../src/emulator/ios-connection.js';
import { LockdownClient } from '../../../src/host/lockdown/client.js';
import type { PairRecord } from '../../../src/host/lockdown/pairing.js';
import { Link } from '../../../src/transport/link.js';
import { makeSelfSigned } from '../../support/certs.js';

const device = makeSelfSigned('device');
const host = makeSelfSigned('host');
const HOST_ID = 'B1F6A3E4-7C2D-4F5A-9E8B-0123456789AB';
const record = {
  HostID: HOST_ID,
  SystemBUID: 'D4C3B2A1-0000-4000-8000-000000000001',
  HostCertificate: Buffer.from(host.certPem),
  HostPrivateKey: Buffer.from(host.keyPem),
} as Partial<PairRecord> as PairRecord;

function backend(productVersion: string): LockdownBackend {
  return {
    getValue: (_domain, key) =>
      key === 'ProductVersion' || key === undefined
        ? { ok: true, value: productVersion }
        : { ok: false, error: 'MissingValue' },
    setValue: () => ({ ok: false, error: 'SetProhibited' }),
    removeValue: () => ({ ok: false, error: 'RemoveProhibited' }),
    pair: async () => ({ ok: false, error: 'UserDeniedPairing' }),
    isPaired: (id) => id === HOST_ID,
    unpair: async () => undefined,
    tlsServerOptions: () => ({ cert: device.certPem, key: device.keyPem, ...serverTlsFor(productVersion) }),
    acceptsClientCertificate: (_id, cert) => cert !== undefined,
    startService: async () => ({ ok: false, error: 'InvalidService' }),
  };
}

/** TLS alert records (close_notify) the phone sent, counted on the wire. */
function countAlerts(bytes: Buffer[]): number {
  const all = Buffer.concat(bytes);
  let alerts = 0;
  let off = 0;
  for (;;) {
    const type = all[off] ?? 0;
    if (off + 5 > all.length || type < 20 || type > 23 || all[off + 1] !== 3) break;
    if (type === 21) alerts++;
    off += 5 + all.readUInt16BE(off + 3);
  }
  return alerts;
}

async function run(productVersion: string): Promise<{ alertsAfterStop: number[] }> {
  const server = net.createServer((sock) => void serveLockdown(new Link(sock), backend(productVersion)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const sock = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const fromDevice: Buffer[] = [];
  sock.on('data', (c: Buffer) => fromDevice.push(c));
  const client = new LockdownClient(new Link(sock), { timeoutMs: 5000 });
  const alertsAfterStop: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      await client.startSession(record);
      assert.equal(await client.getValue(undefined, 'ProductVersion'), productVersion);
      fromDevice.length = 0;
      await client.stopSession();
      // Plaintext right away: the next request and its answer.
      assert.equal(await client.queryType(), 'com.apple.mobile.lockdown');
      alertsAfterStop.push(countAlerts(fromDevice));
    }
    return { alertsAfterStop };
  } finally {
    client.close();
    server.close();
  }
}

test('iOS 17.5: the phone ends TLS itself after StopSession, and plaintext follows every time', async () => {
  assert.deepEqual((await run('17.5')).alertsAfterStop, [1, 1, 1]);
});

test('iOS 12.5.7: the phone never sends close_notify; the host ends TLS alone', async () => {
  assert.deepEqual((await run('12.5.7')).alertsAfterStop, [0, 0, 0]);
});

test('iOS 9.3 (TLS 1.0 phone): sessions come and go in plaintext between them', async () => {
  assert.deepEqual((await run('9.3')).alertsAfterStop, [0, 0, 0]);
});
