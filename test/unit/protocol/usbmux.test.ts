import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  USBMUX_EMULATOR_CONTROL,
  UsbmuxDecoder,
  UsbmuxMessageType,
  UsbmuxResult,
  decodeUsbmuxBinaryResult,
  decodeUsbmuxMessage,
  decodeUsbmuxRequest,
  encodeUsbmuxBinaryResult,
  encodeUsbmuxMessage,
  encodeUsbmuxPacket,
  encodeUsbmuxRequest,
  portFromWire,
  portToWire,
  usbmuxReplies,
  usbmuxRequests,
  type UsbmuxPacket,
  type UsbmuxReply,
  type UsbmuxRequest,
} from '../../../src/protocol/usbmux.js';
import { isPlistDict, parsePlist, type PlistDict } from '../../../src/protocol/plist/index.js';
import { hasCode, isIbackupError } from '../../../src/errors.js';
import { assertEveryChunking, concat } from '../../support/bytes.js';

const enc = new TextEncoder();

function le32(n: number): number[] {
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
}

/** A packet assembled by hand: little-endian length (with header), version, type, tag, body. */
function packet(version: number, type: number, tag: number, body: Uint8Array): Uint8Array {
  return concat([Uint8Array.from([...le32(16 + body.length), ...le32(version), ...le32(type), ...le32(tag)]), body]);
}

const xml = (inner: string): Uint8Array =>
  enc.encode(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
${inner}
</dict>
</plist>
`);

const CONNECT_XML = xml(`	<key>ClientVersionString</key>
	<string>libusbmuxd 2.0.2</string>
	<key>DeviceID</key>
	<integer>3</integer>
	<key>MessageType</key>
	<string>Connect</string>
	<key>PortNumber</key>
	<integer>32498</integer>
	<key>ProgName</key>
	<string>idevicebackup2</string>
	<key>kLibUSBMuxVersion</key>
	<integer>3</integer>`);
const RESULT_XML = xml(`	<key>MessageType</key>
	<string>Result</string>
	<key>Number</key>
	<integer>0</integer>`);
const LEGACY_RESULT = packet(0, 1, 5, Uint8Array.of(3, 0, 0, 0));

const SAMPLE = concat([packet(1, 8, 2, CONNECT_XML), packet(1, 8, 2, RESULT_XML), LEGACY_RESULT]);
const EXPECTED: UsbmuxPacket[] = [
  {
    kind: 'plist',
    version: 1,
    messageType: 8,
    tag: 2,
    payload: {
      ClientVersionString: 'libusbmuxd 2.0.2',
      DeviceID: 3,
      MessageType: 'Connect',
      PortNumber: 32498,
      ProgName: 'idevicebackup2',
      kLibUSBMuxVersion: 3,
    },
  },
  { kind: 'plist', version: 1, messageType: 8, tag: 2, payload: { MessageType: 'Result', Number: 0 } },
  { kind: 'binary', version: 0, messageType: 1, tag: 5, body: Uint8Array.of(3, 0, 0, 0) },
];

function decodeAll(chunks: Uint8Array[]): UsbmuxPacket[] {
  const d = new UsbmuxDecoder();
  const out = chunks.flatMap((c) => d.push(c));
  assert.equal(d.pending, 0);
  return out;
}

describe('usbmux packets', () => {
  test('decode at every split point, and at random cuts', () => {
    assertEveryChunking(SAMPLE, decodeAll, EXPECTED);
  });

  test('encode the header as the reference example shows it', () => {
    const payload: PlistDict = { MessageType: 'Connect', DeviceID: 1, PortNumber: 32498 };
    const bytes = encodeUsbmuxPacket({ tag: 2, payload });
    const len = bytes.length;
    assert.deepEqual([...bytes.subarray(0, 16)], [...le32(len), 1, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0]);
    assert.deepEqual([...bytes.subarray(16, 21)], [...enc.encode('<?xml')]);
    assert.deepEqual(parsePlist(bytes.subarray(16)), payload);
    // The reference's example header for a 410-byte body with tag 2.
    assert.deepEqual(
      [...packet(1, 8, 2, new Uint8Array(410)).subarray(0, 16)],
      [0xaa, 0x01, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0],
    );
  });

  test('legacy binary result packets', () => {
    assert.deepEqual(encodeUsbmuxBinaryResult(5, 3), LEGACY_RESULT);
    assert.equal(decodeUsbmuxBinaryResult(Uint8Array.of(6, 0, 0, 0)), UsbmuxResult.BADVERSION);
    assert.throws(
      () => decodeUsbmuxBinaryResult(Uint8Array.of(6)),
      (e: unknown) => hasCode(e, 'PROTOCOL_DECODE'),
    );
  });

  test('reject malformed packets with typed errors', () => {
    const cases: Array<[string, Uint8Array, 'PROTOCOL_DECODE' | 'FRAME_TOO_LARGE']> = [
      ['length below header', Uint8Array.from([...le32(15), ...le32(1), ...le32(8), ...le32(0)]), 'PROTOCOL_DECODE'],
      ['zero length', new Uint8Array(16), 'PROTOCOL_DECODE'],
      ['huge length', Uint8Array.from([...le32(0xffffffff), ...le32(1), ...le32(8), ...le32(0)]), 'FRAME_TOO_LARGE'],
      ['empty plist body', packet(1, 8, 1, new Uint8Array(0)), 'PROTOCOL_DECODE'],
      ['not a plist', packet(1, 8, 1, enc.encode('garbage')), 'PROTOCOL_DECODE'],
      [
        'plist that is not a dict',
        packet(1, 8, 1, enc.encode('<plist version="1.0"><array/></plist>')),
        'PROTOCOL_DECODE',
      ],
    ];
    for (const [name, bytes, code] of cases) {
      assert.throws(
        () => new UsbmuxDecoder().push(bytes),
        (e: unknown) => hasCode(e, code),
        name,
      );
    }
    assert.throws(
      () => new UsbmuxDecoder({ maxPacketSize: 100 }).push(packet(1, 8, 1, CONNECT_XML).subarray(0, 16)),
      (e: unknown) => hasCode(e, 'FRAME_TOO_LARGE'),
    );
  });

  test('after Connect, the bytes that follow are handed over untouched', () => {
    const d = new UsbmuxDecoder();
    const device = Uint8Array.of(0, 0, 1, 0x1e, 0x3c);
    assert.equal(d.push(concat([packet(1, 8, 2, RESULT_XML), device])).length, 1);
    assert.deepEqual(d.takeRemainder(), device);
  });
});

describe('usbmux ports and results', () => {
  test('PortNumber is byte-swapped', () => {
    assert.equal(portToWire(62078), 32498);
    assert.equal(portFromWire(32498), 62078);
    // Values seen in the idevicebackup2 sequence.
    assert.deepEqual([49152, 49153, 49154, 49160].map(portToWire), [192, 448, 704, 2240]);
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff }), (p) => portFromWire(portToWire(p)) === p));
    assert.throws(
      () => portFromWire(70000),
      (e: unknown) => hasCode(e, 'PROTOCOL_DECODE'),
    );
  });

  test('result code table', () => {
    assert.deepEqual(
      [
        UsbmuxResult.OK,
        UsbmuxResult.BADCOMMAND,
        UsbmuxResult.BADDEV,
        UsbmuxResult.CONNREFUSED,
        UsbmuxResult.BADVERSION,
        UsbmuxResult.ENOENT,
        UsbmuxResult.EINVAL,
      ],
      [0, 1, 2, 3, 6, 2, 22],
    );
    assert.equal(UsbmuxMessageType.Plist, 8);
  });
});

const ATTACHED: PlistDict = {
  MessageType: 'Attached',
  DeviceID: 3,
  Properties: {
    ConnectionSpeed: 480000000,
    ConnectionType: 'USB',
    DeviceID: 3,
    LocationID: 0,
    ProductID: 0x12a8,
    SerialNumber: '00008030-001A2B3C4D5E802E',
  },
};

describe('usbmux messages', () => {
  test('decode each request from hand-written dictionaries', () => {
    const rec = Uint8Array.of(1, 2, 3);
    const cases: Array<[PlistDict, UsbmuxRequest]> = [
      [
        { MessageType: 'ListDevices', ProgName: 'x' },
        { MessageType: 'ListDevices', ProgName: 'x' },
      ],
      [{ MessageType: 'Listen' }, { MessageType: 'Listen' }],
      [
        { MessageType: 'Connect', DeviceID: 1, PortNumber: 32498 },
        { MessageType: 'Connect', DeviceID: 1, PortNumber: 32498 },
      ],
      [
        { MessageType: 'ReadPairRecord', PairRecordID: 'U' },
        { MessageType: 'ReadPairRecord', PairRecordID: 'U' },
      ],
      [
        { MessageType: 'SavePairRecord', PairRecordID: 'U', PairRecordData: rec, DeviceID: 3 },
        { MessageType: 'SavePairRecord', PairRecordID: 'U', PairRecordData: rec, DeviceID: 3 },
      ],
      [
        { MessageType: 'DeletePairRecord', PairRecordID: 'U' },
        { MessageType: 'DeletePairRecord', PairRecordID: 'U' },
      ],
      [
        { MessageType: 'ReadBUID', kLibUSBMuxVersion: 3 },
        { MessageType: 'ReadBUID', kLibUSBMuxVersion: 3 },
      ],
      [{ MessageType: 'ListListeners' }, { MessageType: 'ListListeners' }],
      [
        { MessageType: 'Frobnicate' },
        { MessageType: 'unknown', name: 'Frobnicate', raw: { MessageType: 'Frobnicate' } },
      ],
      [{ Foo: 1 }, { MessageType: 'unknown', raw: { Foo: 1 } }],
      [
        { MessageType: USBMUX_EMULATOR_CONTROL, Command: 'detach' },
        {
          MessageType: 'unknown',
          name: 'IbackupEmulatorCtl',
          raw: { MessageType: USBMUX_EMULATOR_CONTROL, Command: 'detach' },
        },
      ],
    ];
    for (const [wire, typed] of cases) {
      assert.deepEqual(decodeUsbmuxRequest(wire), typed);
      assert.deepEqual(encodeUsbmuxRequest(typed), wire);
    }
  });

  test('malformed known requests throw PROTOCOL_DECODE naming the type', () => {
    const bad: PlistDict[] = [
      { MessageType: 'Connect', DeviceID: 1 },
      { MessageType: 'Connect', DeviceID: '1', PortNumber: 1 },
      { MessageType: 'ReadPairRecord' },
      { MessageType: 'SavePairRecord', PairRecordID: 'U', PairRecordData: 'text' },
      { MessageType: 'ListDevices', kLibUSBMuxVersion: 'three' },
    ];
    for (const d of bad) {
      assert.throws(
        () => decodeUsbmuxRequest(d),
        (e: unknown) =>
          hasCode(e, 'PROTOCOL_DECODE') && isIbackupError(e) && e.details['messageType'] === d['MessageType'],
      );
    }
  });

  test('decode replies and events', () => {
    const cases: Array<[PlistDict, UsbmuxReply]> = [
      [
        { MessageType: 'Result', Number: 3 },
        { MessageType: 'Result', Number: 3 },
      ],
      [
        { MessageType: 'Detached', DeviceID: 3 },
        { MessageType: 'Detached', DeviceID: 3 },
      ],
      [
        { MessageType: 'Paired', DeviceID: 3 },
        { MessageType: 'Paired', DeviceID: 3 },
      ],
      [{ BUID: 'A-B' }, { MessageType: 'BUID', BUID: 'A-B' }],
      [{ PairRecordData: Uint8Array.of(9) }, { MessageType: 'PairRecordData', PairRecordData: Uint8Array.of(9) }],
      [{ Other: 1 }, { MessageType: 'unknown', raw: { Other: 1 } }],
      [{ MessageType: 'Weird' }, { MessageType: 'unknown', name: 'Weird', raw: { MessageType: 'Weird' } }],
    ];
    for (const [wire, typed] of cases) {
      assert.deepEqual(decodeUsbmuxMessage(wire), typed);
      assert.deepEqual(encodeUsbmuxMessage(typed), wire);
    }
    const a = decodeUsbmuxMessage(ATTACHED);
    assert.ok(a.MessageType === 'Attached');
    assert.equal(a.Properties.SerialNumber, '00008030-001A2B3C4D5E802E');
    assert.deepEqual(encodeUsbmuxMessage(a), ATTACHED);
    const list = decodeUsbmuxMessage({ DeviceList: [ATTACHED] });
    assert.ok(list.MessageType === 'DeviceList');
    assert.equal(list.DeviceList[0]?.Properties.ProductID, 0x12a8);
    const listeners = decodeUsbmuxMessage({
      ListenerList: [
        {
          Blacklisted: false,
          ConnType: 0,
          'ID String': '7-idevicebackup2',
          ProgName: 'idevicebackup2',
          kLibUSBMuxVersion: 3,
        },
      ],
    });
    assert.ok(listeners.MessageType === 'ListenerList');
    assert.equal(listeners.ListenerList[0]?.['ID String'], '7-idevicebackup2');
  });

  test('malformed replies throw PROTOCOL_DECODE', () => {
    const bad: PlistDict[] = [
      { MessageType: 'Result' },
      { MessageType: 'Attached', DeviceID: 3, Properties: { ConnectionType: 'USB', DeviceID: 3 } },
      { MessageType: 'Attached', DeviceID: 3 },
      { DeviceList: 'none' },
      { DeviceList: [1] },
      { BUID: 5 },
      { ListenerList: [{ ProgName: 1 }] },
    ];
    for (const d of bad)
      assert.throws(
        () => decodeUsbmuxMessage(d),
        (e: unknown) => hasCode(e, 'PROTOCOL_DECODE'),
      );
  });

  test('builders produce what the decoders read back', () => {
    const connect = usbmuxRequests.connect(3, 62078);
    assert.ok(connect.MessageType === 'Connect');
    assert.equal(connect.PortNumber, 32498);
    for (const req of [
      usbmuxRequests.listDevices(),
      usbmuxRequests.listen(),
      connect,
      usbmuxRequests.readPairRecord('U'),
      usbmuxRequests.savePairRecord('U', Uint8Array.of(1), 3),
      usbmuxRequests.savePairRecord('U', Uint8Array.of(1)),
      usbmuxRequests.deletePairRecord('U'),
      usbmuxRequests.readBuid({}),
      usbmuxRequests.listListeners(),
    ]) {
      const wire = parsePlist(encodeUsbmuxPacket({ tag: 1, payload: encodeUsbmuxRequest(req) }).subarray(16));
      assert.ok(isPlistDict(wire));
      assert.deepEqual(decodeUsbmuxRequest(wire), req);
    }
    const props = { ConnectionType: 'USB', DeviceID: 3, SerialNumber: 'U', ProductID: 0x12a8 };
    for (const reply of [
      usbmuxReplies.result(UsbmuxResult.CONNREFUSED),
      usbmuxReplies.attached(props),
      usbmuxReplies.detached(3),
      usbmuxReplies.paired(3),
      usbmuxReplies.deviceList([props]),
      usbmuxReplies.pairRecordData(Uint8Array.of(1, 2)),
      usbmuxReplies.buid('B'),
      usbmuxReplies.listenerList([{ ProgName: 'p', ConnType: 0 }]),
    ]) {
      assert.deepEqual(decodeUsbmuxMessage(encodeUsbmuxMessage(reply)), reply);
    }
  });
});
