import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Link } from '../../../src/transport/link.js';
import { PlistChannel } from '../../../src/transport/plist-channel.js';
import { hasCode } from '../../../src/errors.js';
import { makeSelfSigned } from '../../support/certs.js';
import { encodeRawFrame } from '../../../src/protocol/frames.js';
import { socketPair } from '../../support/socket-pair.js';

const device = makeSelfSigned('device');
const host = makeSelfSigned('host');

test('plist frames, then TLS on the same socket, then plaintext again after close_notify', async () => {
  const { a, b, close } = await socketPair();
  try {
    const hostCh = new PlistChannel(new Link(a));
    const devCh = new PlistChannel(new Link(b), { timeoutMs: 5000 });
    await hostCh.send({ Request: 'StartSession' });
    assert.deepEqual(await devCh.receive(), { Request: 'StartSession' });
    await devCh.send({ Request: 'StartSession', EnableSessionSSL: true });
    assert.deepEqual(await hostCh.receive(), { Request: 'StartSession', EnableSessionSSL: true });

    await Promise.all([
      devCh.startTlsServer({ cert: device.certPem, key: device.keyPem }),
      hostCh.startTlsClient({ cert: host.certPem, key: host.keyPem }),
    ]);
    assert.ok(hostCh.link.encrypted && devCh.link.encrypted);
    const peer = devCh.link.peerCertificate();
    assert.ok(peer, 'the device sees the host certificate');
    assert.match(peer.subject, /host/);

    await hostCh.send({ Request: 'GetValue', Key: 'DeviceName' }, 'binary');
    assert.deepEqual(await devCh.receive(), { Request: 'GetValue', Key: 'DeviceName' });
    await devCh.send({ Request: 'StopSession', Result: 'Success' });
    assert.deepEqual(await hostCh.receive(), { Request: 'StopSession', Result: 'Success' });

    // Host ends TLS (close_notify) and goes on in plaintext on the same socket.
    const seen: Buffer[] = [];
    b.on('data', (c: Buffer) => seen.push(c));
    await hostCh.stopTls();
    await hostCh.send({ Request: 'QueryType' });
    assert.deepEqual(await devCh.receive(), { Request: 'QueryType' });
    assert.equal(devCh.link.encrypted, false);
    // The plaintext frame really crossed the wire unencrypted.
    assert.ok(Buffer.concat(seen).includes(Buffer.from('<string>QueryType</string>')));
    await devCh.send({ Request: 'QueryType', Type: 'com.apple.mobile.lockdown' });
    assert.deepEqual(await hostCh.receive(), { Request: 'QueryType', Type: 'com.apple.mobile.lockdown' });
  } finally {
    close();
  }
});

test('receive times out, can be aborted, and reports a closed peer', async () => {
  const { a, b, close } = await socketPair();
  try {
    const ch = new PlistChannel(new Link(a));
    await assert.rejects(ch.receive({ timeoutMs: 50 }), (e: unknown) => hasCode(e, 'TIMEOUT'));
    const ac = new AbortController();
    const p = ch.receive({ signal: ac.signal, timeoutMs: 0 });
    ac.abort();
    await assert.rejects(p, (e: unknown) => hasCode(e, 'CANCELLED'));
    const q = ch.receive({ timeoutMs: 5000 });
    b.destroy();
    await assert.rejects(q, (e: unknown) => hasCode(e, 'CONNECTION_CLOSED'));
  } finally {
    close();
  }
});

test('an oversized frame fails the channel with FRAME_TOO_LARGE instead of allocating', async () => {
  const { a, b, close } = await socketPair();
  try {
    const ch = new PlistChannel(new Link(a), { maxFrameSize: 1024 });
    const p = ch.receive({ timeoutMs: 5000 });
    b.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x00]));
    await assert.rejects(p, (e: unknown) => hasCode(e, 'FRAME_TOO_LARGE'));
  } finally {
    close();
  }
});

test('frames split across many writes arrive whole; bytes after the last asked-for frame stay raw', async () => {
  const { a, b, close } = await socketPair();
  try {
    const link = new Link(a);
    const ch = new PlistChannel(link);
    const frame = encodeRawFrame(
      new TextEncoder().encode(
        '<?xml version="1.0"?><plist version="1.0"><dict><key>A</key><integer>1</integer></dict></plist>',
      ),
    );
    const tail = Buffer.from('RAW-STREAM');
    const all = Buffer.concat([frame, tail]);
    for (let i = 0; i < all.length; i += 7) b.write(all.subarray(i, i + 7));
    assert.deepEqual(await ch.receive({ timeoutMs: 5000 }), { A: 1 });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(Buffer.from(ch.detach()).toString(), 'RAW-STREAM');
  } finally {
    close();
  }
});

test('a peer that drops mid-handshake gives a typed error, not a hang', async () => {
  const { a, b, close } = await socketPair();
  try {
    const link = new Link(a);
    b.once('data', () => b.destroy());
    await assert.rejects(
      link.startTlsClient({ cert: host.certPem, key: host.keyPem, timeoutMs: 5000 }),
      (e: unknown) => hasCode(e, 'PROTOCOL_DECODE') || hasCode(e, 'CONNECTION_CLOSED') || hasCode(e, 'TIMEOUT'),
    );
  } finally {
    close();
  }
});

test('a socket error on a link nobody listens to for errors ends it without crashing', async () => {
  const { a, close } = await socketPair();
  try {
    const link = new Link(a);
    const ended = new Promise<void>((resolve) => link.once('end', () => resolve()));
    a.emit('error', Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    await ended;
    assert.equal(link.isClosed, true);
  } finally {
    close();
  }
});

test('TLS for good on a real socket: the engine reads the socket itself; data both ways, the end, no way back to plaintext', async () => {
  const { a, b, close } = await socketPair();
  try {
    const hostLink = new Link(a);
    const devLink = new Link(b);
    await Promise.all([
      devLink.startTlsServer({ cert: device.certPem, key: device.keyPem, permanent: true }),
      hostLink.startTlsClient({ cert: host.certPem, key: host.keyPem, permanent: true }),
    ]);
    assert.ok(hostLink.encrypted && devLink.encrypted);
    assert.match(devLink.peerCertificate()?.subject ?? '', /host/);
    // 8 MiB one way, in pieces, with backpressure; a reply the other way.
    const piece = new Uint8Array(256 * 1024);
    for (let i = 0; i < piece.length; i++) piece[i] = (i * 31) & 0xff;
    const got: Buffer[] = [];
    let total = 0;
    const all = new Promise<void>((done) =>
      devLink.on('data', (c) => {
        got.push(c);
        total += c.length;
        if (total >= 32 * piece.length) done();
      }),
    );
    for (let i = 0; i < 32; i++) if (!devLink.isClosed && !hostLink.send(piece)) await hostLink.drained();
    await all;
    const joined = Buffer.concat(got);
    assert.equal(joined.length, 32 * piece.length);
    assert.ok(joined.subarray(5 * piece.length, 6 * piece.length).equals(piece));
    assert.match(hostLink.tlsVersion() ?? '', /^TLSv1/);
    const reply = new Promise<Buffer>((done) => hostLink.once('data', done));
    await devLink.write(new TextEncoder().encode('ok'));
    assert.equal((await reply).toString(), 'ok');
    await assert.rejects(hostLink.stopTls(), (e) => hasCode(e, 'INTERNAL'));
    const ended = new Promise<void>((done) => devLink.once('end', done));
    hostLink.close();
    await ended;
    assert.equal(devLink.isClosed, true);
  } finally {
    close();
  }
});
