import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, RawFrameDecoder, encodeFrame, encodeRawFrame } from '../../../src/protocol/frames.js';
import { ChunkBuffer } from '../../../src/protocol/chunk-buffer.js';
import { parsePlist, type PlistValue } from '../../../src/protocol/plist/index.js';
import { hasCode } from '../../../src/errors.js';
import { assertEveryChunking, concat } from '../../support/bytes.js';

const enc = new TextEncoder();

/** A frame assembled by hand: 4-byte big-endian length, then the body. */
function frame(body: Uint8Array): Uint8Array {
  const n = body.length;
  return concat([Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255), body]);
}

const XML_QUERY = enc.encode(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>idevicebackup2</string>
	<key>Request</key>
	<string>QueryType</string>
</dict>
</plist>
`);
const XML_ARRAY = enc.encode(
  '<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><array><string>DLMessageVersionExchange</string><integer>400</integer><integer>0</integer></array></plist>',
);
// bplist00 for ["DLMessageDeviceReady"], assembled by hand: array (A1 01), ASCII string of 20
// bytes (5F 10 14 …), offset table at 33, trailer with 1-byte offsets and refs.
const BPLIST_READY = concat([
  enc.encode('bplist00'),
  Uint8Array.of(0xa1, 0x01, 0x5f, 0x10, 0x14),
  enc.encode('DLMessageDeviceReady'),
  Uint8Array.of(0x08, 0x0a),
  Uint8Array.of(0, 0, 0, 0, 0, 0, 1, 1),
  Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 33),
]);

const SAMPLE = concat([frame(XML_QUERY), frame(BPLIST_READY), frame(XML_ARRAY)]);
const EXPECTED: PlistValue[] = [
  { Label: 'idevicebackup2', Request: 'QueryType' },
  ['DLMessageDeviceReady'],
  ['DLMessageVersionExchange', 400, 0],
];

function decodeAll(chunks: Uint8Array[]): PlistValue[] {
  const d = new FrameDecoder();
  const out = chunks.flatMap((c) => d.push(c));
  assert.equal(d.pending, 0);
  return out;
}

describe('plist frames', () => {
  test('decode XML and binary frames at every split point, and at random cuts', () => {
    assertEveryChunking(SAMPLE, decodeAll, EXPECTED);
  });

  test('raw mode yields the bodies, and hands over unframed bytes that follow a frame', () => {
    const stream = Uint8Array.of(0, 0, 0, 0x10, 0x61, 0x62); // the start of a DeviceLink file stream
    const d = new RawFrameDecoder();
    d.feed(concat([frame(BPLIST_READY), stream]));
    assert.deepEqual(d.nextRaw(), BPLIST_READY);
    assert.deepEqual(d.takeRemainder(), stream);
    assert.equal(d.pending, 0);
    assert.deepEqual(new RawFrameDecoder().push(SAMPLE), [XML_QUERY, BPLIST_READY, XML_ARRAY]);
  });

  test('encode: 4-byte big-endian length, then XML or binary plist', () => {
    const value: PlistValue = { Request: 'QueryType', Label: 'ibackup' };
    const xml = encodeFrame(value, { format: 'xml' });
    const n = new DataView(xml.buffer).getUint32(0, false);
    assert.equal(n, xml.length - 4);
    assert.deepEqual([...xml.subarray(4, 9)], [...enc.encode('<?xml')]);
    assert.deepEqual(parsePlist(xml.subarray(4)), value);
    const bin = encodeFrame(['DLMessageDeviceReady'], { format: 'binary' });
    assert.deepEqual([...bin.subarray(4, 12)], [...enc.encode('bplist00')]);
    assert.equal(new DataView(bin.buffer).getUint32(0, false), bin.length - 4);
    assert.deepEqual(encodeRawFrame(BPLIST_READY), frame(BPLIST_READY));
  });

  test('reject malformed frames with typed errors', () => {
    const cases: Array<[string, Uint8Array, 'PROTOCOL_DECODE' | 'FRAME_TOO_LARGE']> = [
      ['zero length', Uint8Array.of(0, 0, 0, 0), 'PROTOCOL_DECODE'],
      ['huge length, checked before the body arrives', Uint8Array.of(0xff, 0xff, 0xff, 0xff), 'FRAME_TOO_LARGE'],
      ['not a plist', frame(enc.encode('hello world')), 'PROTOCOL_DECODE'],
      ['truncated XML', frame(XML_QUERY.subarray(0, 120)), 'PROTOCOL_DECODE'],
      ['truncated binary', frame(BPLIST_READY.subarray(0, 30)), 'PROTOCOL_DECODE'],
    ];
    for (const [name, bytes, code] of cases) {
      assert.throws(
        () => new FrameDecoder().push(bytes),
        (e: unknown) => hasCode(e, code),
        name,
      );
    }
    const small = new FrameDecoder({ maxFrameSize: 16 });
    assert.throws(
      () => small.push(Uint8Array.of(0, 0, 0, 17)),
      (e: unknown) => hasCode(e, 'FRAME_TOO_LARGE'),
    );
  });

  test('a partial frame waits for more bytes', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(frame(XML_ARRAY).subarray(0, 10)), []);
    assert.equal(d.pending, 10);
  });
});

describe('ChunkBuffer', () => {
  test('peeks and takes across chunk boundaries', () => {
    const b = new ChunkBuffer();
    b.append(Uint8Array.of(1, 2));
    b.append(new Uint8Array(0));
    b.append(Uint8Array.of(3, 4, 5));
    assert.equal(b.length, 5);
    assert.deepEqual(b.peek(3), Uint8Array.of(1, 2, 3));
    assert.deepEqual(b.take(1), Uint8Array.of(1));
    assert.deepEqual(b.take(3), Uint8Array.of(2, 3, 4));
    assert.deepEqual(b.takeAll(), Uint8Array.of(5));
    assert.equal(b.length, 0);
  });
});
