/**
 * The virtual iPhone under hostile or broken clients: garbage, oversized and truncated usbmuxd
 * packets and lockdown frames, wrong pair records, unknown HostIDs, a client that vanishes in the
 * middle of the TLS handshake. After each, the emulator must go on serving everybody else. Also
 * the end of a TLS session: StopSession, close_notify, then plaintext on the same connection.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, encodeRawFrame } from '../../src/protocol/frames.js';
import { serializeXmlPlist, type PlistDict } from '../../src/protocol/plist/index.js';
import {
  USBMUX_HEADER_SIZE,
  UsbmuxResult,
  encodeUsbmuxBinaryPacket,
  encodeUsbmuxPacket,
  portToWire,
} from '../../src/protocol/usbmux.js';
import type { PlistChannel } from '../../src/transport/plist-channel.js';
import { startTestEmulator, type TestEmulator } from '../support/test-emulator.js';
import {
  RawMuxClient,
  assertStillServing,
  connectDevicePort,
  lockdownRequest,
  muxRequest,
  openLockdown,
} from '../support/raw-mux-client.js';
import { makePairRecord, pairRequestRecord, type TestPairRecord } from '../support/pair-records.js';
import { concat } from '../support/bytes.js';

const te8 = new TextEncoder();

function header(length: number, version = 1, message = 8, tag = 1): Uint8Array {
  const h = new Uint8Array(USBMUX_HEADER_SIZE);
  const v = new DataView(h.buffer);
  v.setUint32(0, length, true);
  v.setUint32(4, version, true);
  v.setUint32(8, message, true);
  v.setUint32(12, tag, true);
  return h;
}

describe('the emulator survives bad input', () => {
  let te: TestEmulator;
  let address: string;
  let deviceId: number;
  let devicePublicKey: string;

  before(async () => {
    te = await startTestEmulator();
    address = te.emu.socketAddress;
    const device = te.emu.devices()[0];
    assert.ok(device);
    deviceId = device.deviceId;
    const { channel } = await openLockdown(address, deviceId);
    const r = await lockdownRequest(channel, { Request: 'GetValue', Key: 'DevicePublicKey' });
    channel.close();
    assert.ok(r.Value instanceof Uint8Array);
    devicePublicKey = new TextDecoder().decode(r.Value);
  });
  after(async () => {
    await te.dispose();
  });

  /** Sends bytes on a fresh usbmuxd connection and expects the emulator to drop it. */
  async function muxDropped(bytes: Uint8Array, what: string): Promise<void> {
    const c = await RawMuxClient.connect(address);
    c.writeRaw(bytes);
    assert.ok(await c.waitClosed(), `${what}: the emulator closes the connection`);
    c.destroy();
    await assertStillServing(address, deviceId);
  }

  describe('usbmuxd role', () => {
    test('garbage bytes: dropped', async () => {
      await muxDropped(te8.encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'HTTP request');
      await muxDropped(
        concat([header(USBMUX_HEADER_SIZE + 40), te8.encode('this is not a plist at all, not even XML')]),
        'garbage body',
      );
      await muxDropped(header(4), 'length below the header size');
      const arrayBody = serializeXmlPlist(['ListDevices']);
      await muxDropped(concat([header(USBMUX_HEADER_SIZE + arrayBody.length), arrayBody]), 'plist that is not a dict');
    });

    test('an oversized packet (declared length 1 GiB): dropped at once, nothing buffered', async () => {
      await muxDropped(concat([header(0x4000_0000), new Uint8Array(1024)]), '1 GiB packet');
    });

    test('a truncated packet, then the client closes: nothing breaks', async () => {
      const packet = encodeUsbmuxPacket({ tag: 7, payload: { MessageType: 'ListDevices' } });
      const c = await RawMuxClient.connect(address);
      c.writeRaw(packet.subarray(0, 30));
      await new Promise((r) => setTimeout(r, 50));
      c.sock.end();
      assert.ok(await c.waitClosed());
      await assertStillServing(address, deviceId);
    });

    test('requests it cannot serve get Result codes, and the connection stays usable', async () => {
      const c = await RawMuxClient.connect(address);
      try {
        const expect = async (payload: PlistDict, number: number): Promise<void> => {
          const tag = c.send(payload);
          const p = await c.next();
          assert.equal(p.tag, tag);
          assert.ok(p.kind === 'plist');
          assert.deepEqual(p.payload, { MessageType: 'Result', Number: number }, JSON.stringify(payload));
        };
        await expect({ MessageType: 'NoSuchThing' }, UsbmuxResult.BADCOMMAND);
        await expect({ MessageType: 'Connect', DeviceID: deviceId }, UsbmuxResult.BADCOMMAND);
        await expect({ MessageType: 'Connect', DeviceID: 9999, PortNumber: portToWire(62078) }, UsbmuxResult.BADDEV);
        await expect(
          { MessageType: 'Connect', DeviceID: deviceId, PortNumber: portToWire(1234) },
          UsbmuxResult.CONNREFUSED,
        );
        await expect({ MessageType: 'ReadPairRecord' }, UsbmuxResult.EINVAL);
        await expect({ MessageType: 'ReadPairRecord', PairRecordID: '../../etc/passwd' }, UsbmuxResult.ENOENT);
        await expect(
          { MessageType: 'SavePairRecord', PairRecordID: 'X', PairRecordData: te8.encode('not a plist') },
          UsbmuxResult.EINVAL,
        );
        await expect(
          {
            MessageType: 'SavePairRecord',
            PairRecordID: '../escape',
            PairRecordData: serializeXmlPlist({ HostID: 'A' }),
          },
          UsbmuxResult.EINVAL,
        );
        await expect({ MessageType: 'SavePairRecord', PairRecordID: 'X' }, UsbmuxResult.EINVAL);
        const buid = c.send({ MessageType: 'ReadBUID' });
        const reply = await c.next();
        assert.ok(reply.tag === buid && reply.kind === 'plist');
        assert.equal(reply.payload.BUID, te.emu.systemBuid());
      } finally {
        c.destroy();
      }
      assert.equal(await te.emu.readPairRecord('X'), null, 'nothing was saved for bad data');
    });

    test('unknown header versions: BADVERSION, in the binary protocol for version 0', async () => {
      const c = await RawMuxClient.connect(address);
      try {
        c.writeRaw(encodeUsbmuxPacket({ tag: 3, payload: { MessageType: 'ListDevices' }, version: 2 }));
        const p = await c.next();
        assert.ok(p.kind === 'plist' && p.tag === 3);
        assert.equal(p.payload.Number, UsbmuxResult.BADVERSION);
        const body = new Uint8Array(8);
        c.writeRaw(encodeUsbmuxBinaryPacket(4, 2, body));
        const b = await c.next();
        assert.ok(b.kind === 'binary' && b.tag === 4 && b.version === 0 && b.messageType === 1);
        assert.equal(new DataView(b.body.buffer, b.body.byteOffset).getUint32(0, true), UsbmuxResult.BADVERSION);
      } finally {
        c.destroy();
      }
      await assertStillServing(address, deviceId);
    });
  });

  test('a burst of parallel short connections, as libimobiledevice makes them', async () => {
    const lists = Array.from({ length: 40 }, () => muxRequest(address, { MessageType: 'ListDevices' }));
    const queries = Array.from({ length: 20 }, async () => {
      const { channel } = await openLockdown(address, deviceId);
      try {
        return await lockdownRequest(channel, { Request: 'QueryType' });
      } finally {
        channel.close();
      }
    });
    for (const r of await Promise.all(lists)) assert.ok(Array.isArray(r.DeviceList) && r.DeviceList.length === 1);
    for (const r of await Promise.all(queries)) assert.equal(r.Type, 'com.apple.mobile.lockdown');
  });

  describe('lockdownd', () => {
    /** Sends bytes on a fresh lockdown connection and expects the device to drop it. */
    async function lockdownDropped(bytes: Uint8Array, what: string): Promise<void> {
      const c = await connectDevicePort(address, deviceId);
      c.writeRaw(bytes);
      assert.ok(await c.waitClosed(), `${what}: the device closes the connection`);
      c.destroy();
      await assertStillServing(address, deviceId);
    }

    test('garbage bytes: dropped', async () => {
      await lockdownDropped(te8.encode('hello, this is certainly not a length-prefixed plist frame'), 'text');
      await lockdownDropped(
        encodeRawFrame(te8.encode('<?xml version="1.0"?><plist><dict><key>Req')),
        'broken XML frame',
      );
      await lockdownDropped(encodeRawFrame(te8.encode('bplist00\x00\x01\x02')), 'broken binary plist frame');
    });

    test('an oversized frame (length 0x7fffffff): dropped at once', async () => {
      await lockdownDropped(concat([new Uint8Array([0x7f, 0xff, 0xff, 0xff]), new Uint8Array(64)]), '2 GiB frame');
    });

    test('a frame that is not a request dictionary: an error reply, and the connection goes on', async () => {
      const { mux, channel } = await openLockdown(address, deviceId);
      try {
        mux.writeRaw(encodeFrame(['QueryType']));
        const r1 = await channel.receive();
        assert.deepEqual(r1, { Error: 'InvalidRequest' });
        mux.writeRaw(encodeFrame({ Label: 'x', NoRequest: true }));
        assert.deepEqual(await channel.receive(), { Error: 'InvalidRequest' });
        const unknown = await lockdownRequest(channel, { Request: 'MakeCoffee' });
        assert.deepEqual(unknown, { Request: 'MakeCoffee', Error: 'InvalidRequest' });
        const q = await lockdownRequest(channel, { Request: 'QueryType' });
        assert.equal(q.Type, 'com.apple.mobile.lockdown');
      } finally {
        channel.close();
      }
    });

    test('a truncated frame, then the client closes: nothing breaks', async () => {
      const c = await connectDevicePort(address, deviceId);
      c.writeRaw(encodeFrame({ Request: 'QueryType' }).subarray(0, 20));
      c.sock.end();
      assert.ok(await c.waitClosed());
      await assertStillServing(address, deviceId);
    });

    test('Pair with a device certificate for another key: InvalidPairRecord, nothing stored', async () => {
      const record = makePairRecord(devicePublicKey, te.emu.systemBuid(), { otherDeviceKey: true });
      const { channel } = await openLockdown(address, deviceId);
      try {
        const r = await lockdownRequest(channel, {
          Request: 'Pair',
          PairRecord: pairRequestRecord(record),
          ProtocolVersion: '2',
        });
        assert.deepEqual(r, { Request: 'Pair', Error: 'InvalidPairRecord' });
        const missing = await lockdownRequest(channel, { Request: 'Pair', ProtocolVersion: '2' });
        assert.equal(missing.Error, 'MissingPairRecord');
      } finally {
        channel.close();
      }
      assert.equal(te.emu.find(te.udids[0] ?? '').isPaired(record.hostId), false);
      await assertStillServing(address, deviceId);
    });

    test('StartSession with an unknown HostID: InvalidHostID; without one: MissingHostID', async () => {
      const { channel } = await openLockdown(address, deviceId);
      try {
        const r = await lockdownRequest(channel, {
          Request: 'StartSession',
          HostID: 'ABCDEF01-2345-4789-8BCD-EF0123456789',
          SystemBUID: te.emu.systemBuid(),
        });
        assert.deepEqual(r, { Request: 'StartSession', Error: 'InvalidHostID' });
        const none = await lockdownRequest(channel, { Request: 'StartSession' });
        assert.equal(none.Error, 'MissingHostID');
        const svc = await lockdownRequest(channel, { Request: 'StartService', Service: 'com.apple.afc' });
        assert.equal(svc.Error, 'SessionInactive');
      } finally {
        channel.close();
      }
      await assertStillServing(address, deviceId);
    });

    describe('with a trusted host', () => {
      let record: TestPairRecord;

      before(async () => {
        record = makePairRecord(devicePublicKey, te.emu.systemBuid());
        const { channel } = await openLockdown(address, deviceId);
        try {
          const r = await lockdownRequest(channel, {
            Request: 'Pair',
            PairRecord: pairRequestRecord(record),
            ProtocolVersion: '2',
          });
          assert.ok(r.EscrowBag instanceof Uint8Array && r.EscrowBag.length > 0, JSON.stringify(r));
        } finally {
          channel.close();
        }
      });

      async function startSession(channel: PlistChannel): Promise<string> {
        const r = await lockdownRequest(channel, {
          Request: 'StartSession',
          HostID: record.hostId,
          SystemBUID: record.systemBuid,
        });
        assert.equal(r.EnableSessionSSL, true, JSON.stringify(r));
        assert.equal(typeof r.SessionID, 'string');
        return r.SessionID as string;
      }

      test('a client that disconnects in the middle of the TLS handshake', async () => {
        const { mux, channel } = await openLockdown(address, deviceId);
        await startSession(channel);
        channel.detach();
        // The start of a ClientHello record, never finished.
        mux.writeRaw(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
        await new Promise((r) => setTimeout(r, 50));
        mux.destroy();
        await assertStillServing(address, deviceId);
      });

      test('a TLS client whose certificate the device did not pair with is dropped', async () => {
        const stranger = makePairRecord(devicePublicKey, te.emu.systemBuid());
        const { mux, channel } = await openLockdown(address, deviceId);
        try {
          await startSession(channel);
          await channel
            .startTlsClient({ cert: stranger.rootCertPem, key: stranger.rootKeyPem, timeoutMs: 5_000 })
            .catch(() => undefined);
          assert.ok(await mux.waitClosed(), 'the device hangs up');
        } finally {
          channel.close();
        }
        await assertStillServing(address, deviceId);
      });

      test('StopSession, close_notify, then plaintext frames on the same connection', async () => {
        const { channel } = await openLockdown(address, deviceId);
        try {
          const sessionId = await startSession(channel);
          await channel.startTlsClient({ cert: record.rootCertPem, key: record.rootKeyPem, timeoutMs: 5_000 });
          assert.equal(channel.link.encrypted, true);
          const name = await lockdownRequest(channel, { Request: 'GetValue', Key: 'DeviceName' });
          assert.equal(name.Value, te.emu.find(te.udids[0] ?? '').deviceName);
          const backup = await lockdownRequest(channel, {
            Request: 'GetValue',
            Domain: 'com.apple.mobile.backup',
            Key: 'WillEncrypt',
          });
          assert.equal(backup.Value, false);
          const stop = await lockdownRequest(channel, { Request: 'StopSession', SessionID: sessionId });
          assert.deepEqual(stop, { Request: 'StopSession', Result: 'Success' });
          await channel.stopTls();
          assert.equal(channel.link.encrypted, false);
          const q = await lockdownRequest(channel, { Request: 'QueryType' });
          assert.deepEqual(q, { Request: 'QueryType', Type: 'com.apple.mobile.lockdown' });
          // A second session on the same connection works too.
          const again = await startSession(channel);
          assert.notEqual(again, sessionId);
          await channel.startTlsClient({ cert: record.hostCertPem, key: record.hostKeyPem, timeoutMs: 5_000 });
          const v = await lockdownRequest(channel, { Request: 'GetValue', Key: 'ProductType' });
          assert.equal(v.Value, te.emu.find(te.udids[0] ?? '').profile.identity.productType);
          const wrong = await lockdownRequest(channel, { Request: 'StopSession', SessionID: 'NOT-THE-SESSION' });
          assert.equal(wrong.Error, 'InvalidSessionID');
        } finally {
          channel.close();
        }
        await assertStillServing(address, deviceId);
      });
    });
  });
});
