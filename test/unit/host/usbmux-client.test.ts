// The usbmuxd client against a scripted usbmuxd: every reply (device list, BUID, pair record,
// Connect with the device's first bytes right behind it, the Listen stream of hotplug events) is
// decoded the same whatever the chunking. The client opens its own socket for every request, so
// the scripted usbmuxd listens on a unix socket in a temporary folder; each piece the script sends
// goes out in its own turn of the event loop, so the client reads it on its own.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIbackupError } from '../../../src/errors.js';
import { UsbmuxClient, type MuxEvent } from '../../../src/host/usbmux.js';
import { encodeFrame } from '../../../src/protocol/frames.js';
import {
  UsbmuxDecoder,
  UsbmuxResult,
  encodeUsbmuxBinaryResult,
  encodeUsbmuxMessage,
  encodeUsbmuxPacket,
  portFromWire,
  usbmuxReplies,
  type UsbmuxPacket,
  type UsbmuxReply,
} from '../../../src/protocol/usbmux.js';
import { PlistChannel } from '../../../src/transport/plist-channel.js';
import { ScriptedDevice, everyCut, splitAt, whole, type Cut } from '../../support/duplex.js';

type Usbmuxd = ScriptedDevice<UsbmuxPacket>;

const dir = await mkdtemp(join(tmpdir(), 'ibackup-mux-'));
after(() => rm(dir, { recursive: true, force: true }));
let sockets = 0;

/** A usbmuxd that runs `script` on every connection, cutting what it sends with `cut`. */
async function scriptedUsbmuxd(
  cut: Cut,
  script: (mux: Usbmuxd) => Promise<void>,
): Promise<{ client: UsbmuxClient; runs: Promise<void>[]; close: () => Promise<void> }> {
  const path = join(dir, `mux-${sockets++}.sock`);
  const runs: Promise<void>[] = [];
  const server = net.createServer((sock) => {
    const run = script(new ScriptedDevice(sock, new UsbmuxDecoder(), cut));
    run.catch(() => undefined); // awaited by the test
    runs.push(run);
  });
  await new Promise<void>((resolve) => server.listen(path, () => resolve()));
  return {
    client: new UsbmuxClient({ address: { kind: 'unix', path }, timeoutMs: 5_000 }),
    runs,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The reply to one request, with the request's tag. */
async function reply(mux: Usbmuxd, request: string, message: UsbmuxReply): Promise<UsbmuxPacket> {
  const p = await mux.receive();
  assert.ok(p.kind === 'plist', 'a plist request');
  assert.equal(p.payload.MessageType, request);
  await mux.send(encodeUsbmuxPacket({ tag: p.tag, payload: encodeUsbmuxMessage(message) }));
  return p;
}

const SERIAL_24 = '00008030001A2B3C4D5E802E';
const UDID_40 = 'f00dbabe0123456789abcdef0123456789abcdef';
const DEVICE_LIST = usbmuxReplies.deviceList([
  { ConnectionType: 'USB', DeviceID: 3, SerialNumber: SERIAL_24, ConnectionSpeed: 480_000_000, ProductID: 0x12a8 },
  { ConnectionType: 'Network', DeviceID: 9, SerialNumber: UDID_40, NetworkAddress: Uint8Array.of(2, 0, 0, 0) },
]);
const RECORD = Uint8Array.from({ length: 64 }, (_, i) => i);

async function requests(cut: Cut): Promise<void> {
  const mux = await scriptedUsbmuxd(cut, async (m) => {
    const p = await m.receive();
    assert.ok(p.kind === 'plist');
    await m.send(
      encodeUsbmuxPacket({
        tag: p.tag,
        payload: encodeUsbmuxMessage(
          p.payload.MessageType === 'ListDevices'
            ? DEVICE_LIST
            : p.payload.MessageType === 'ReadBUID'
              ? usbmuxReplies.buid('D4C3B2A1-0000-4000-8000-000000000001')
              : p.payload.MessageType === 'ReadPairRecord' && p.payload.PairRecordID === '00008030-001A2B3C4D5E802E'
                ? usbmuxReplies.pairRecordData(RECORD)
                : usbmuxReplies.result(UsbmuxResult.ENOENT),
        ),
      }),
    );
  });
  try {
    assert.deepEqual(await mux.client.listDevices(), [
      { deviceId: 3, udid: '00008030-001A2B3C4D5E802E', connection: 'USB' },
      { deviceId: 9, udid: UDID_40, connection: 'Network' },
    ]);
    assert.equal(await mux.client.readBuid(), 'D4C3B2A1-0000-4000-8000-000000000001');
    assert.deepEqual(Uint8Array.from((await mux.client.readPairRecord('00008030-001A2B3C4D5E802E')) ?? []), RECORD);
    assert.equal(await mux.client.readPairRecord('someone-else'), null);
    assert.equal(await mux.client.deletePairRecord('someone-else'), false);
    await Promise.all(mux.runs);
  } finally {
    await mux.close();
  }
}

test('device list, BUID and pair records are decoded whatever the chunking', async () => {
  const longest = encodeUsbmuxPacket({ tag: 1, payload: encodeUsbmuxMessage(DEVICE_LIST) }).length;
  for (const cut of everyCut(longest)) {
    await requests(cut).catch((err: unknown) => {
      throw new Error(`${cut.name}: ${String(err)}`, { cause: err });
    });
  }
});

test("Connect: the device's first bytes behind the Result reach the link, split anywhere", async () => {
  const hello = encodeFrame({ Request: 'QueryType', Type: 'com.apple.mobile.lockdown' });
  const result = encodeUsbmuxPacket({ tag: 1, payload: encodeUsbmuxMessage(usbmuxReplies.result(UsbmuxResult.OK)) });
  for (const cut of everyCut(result.length + hello.length)) {
    const mux = await scriptedUsbmuxd(cut, async (m) => {
      const p = await m.receive();
      assert.ok(p.kind === 'plist' && p.payload.MessageType === 'Connect');
      assert.equal(p.payload.DeviceID, 3);
      assert.equal(portFromWire(p.payload.PortNumber as number), 62078);
      await m.send(
        encodeUsbmuxPacket({ tag: p.tag, payload: encodeUsbmuxMessage(usbmuxReplies.result(UsbmuxResult.OK)) }),
        hello,
      );
    });
    try {
      const channel = new PlistChannel(await mux.client.connect(3, 62078), { timeoutMs: 5_000 });
      try {
        assert.deepEqual(
          await channel.receive(),
          { Request: 'QueryType', Type: 'com.apple.mobile.lockdown' },
          cut.name,
        );
      } finally {
        channel.close();
      }
      await Promise.all(mux.runs);
    } finally {
      await mux.close();
    }
  }
});

test('Connect refused: a detached device is DEVICE_NOT_FOUND, a closed port CONNECTION_CLOSED', async () => {
  for (const [result, code] of [
    [UsbmuxResult.BADDEV, 'DEVICE_NOT_FOUND'],
    [UsbmuxResult.CONNREFUSED, 'CONNECTION_CLOSED'],
  ] as const) {
    for (const cut of [whole, splitAt(7), splitAt(16)]) {
      const mux = await scriptedUsbmuxd(cut, (m) =>
        reply(m, 'Connect', usbmuxReplies.result(result)).then(() => undefined),
      );
      try {
        await assert.rejects(mux.client.connect(3, 62078), (err: unknown) => isIbackupError(err) && err.code === code);
      } finally {
        await mux.close();
      }
    }
  }
});

test('Listen: hotplug events arrive in order whatever the chunking, until the signal aborts', async () => {
  const events: UsbmuxReply[] = [
    usbmuxReplies.attached({ ConnectionType: 'USB', DeviceID: 3, SerialNumber: SERIAL_24 }),
    usbmuxReplies.attached({ ConnectionType: 'Network', DeviceID: 9, SerialNumber: UDID_40 }),
    usbmuxReplies.paired(3),
    usbmuxReplies.detached(9),
  ];
  const stream = (tag: number): Uint8Array[] => [
    encodeUsbmuxPacket({ tag, payload: encodeUsbmuxMessage(usbmuxReplies.result(UsbmuxResult.OK)) }),
    ...events.map((e) => encodeUsbmuxPacket({ tag: 0, payload: encodeUsbmuxMessage(e) })),
  ];
  const expected: MuxEvent[] = [
    { type: 'attached', device: { deviceId: 3, udid: '00008030-001A2B3C4D5E802E', connection: 'USB' } },
    { type: 'attached', device: { deviceId: 9, udid: UDID_40, connection: 'Network' } },
    { type: 'paired', deviceId: 3 },
    { type: 'detached', deviceId: 9 },
  ];
  for (const cut of everyCut(Buffer.concat(stream(1)).length)) {
    const mux = await scriptedUsbmuxd(cut, async (m) => {
      const p = await m.receive();
      assert.ok(p.kind === 'plist' && p.payload.MessageType === 'Listen');
      await m.send(...stream(p.tag));
    });
    try {
      const seen: MuxEvent[] = [];
      const stop = new AbortController();
      await mux.client.listen((e) => {
        seen.push(e);
        if (seen.length === expected.length) stop.abort();
      }, stop.signal);
      assert.deepEqual(seen, expected, cut.name);
      await Promise.all(mux.runs);
    } finally {
      await mux.close();
    }
  }
});

test("a reply in usbmuxd's old binary protocol is refused (PROTOCOL_DECODE)", async () => {
  for (const cut of [whole, splitAt(4), splitAt(16)]) {
    const mux = await scriptedUsbmuxd(cut, async (m) => {
      const p = await m.receive();
      await m.send(encodeUsbmuxBinaryResult(p.tag, UsbmuxResult.OK));
    });
    try {
      await assert.rejects(
        mux.client.listDevices(),
        (err: unknown) => isIbackupError(err) && err.code === 'PROTOCOL_DECODE',
      );
    } finally {
      await mux.close();
    }
  }
});
