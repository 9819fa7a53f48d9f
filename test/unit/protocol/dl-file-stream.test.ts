import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DlFileStreamParser,
  DL_STREAM_TERMINATOR,
  encodeDlDataBlockHeader,
  encodeDlDataBlocks,
  encodeDlDownloadFileHeader,
  encodeDlErrorBlock,
  encodeDlSuccessBlock,
  encodeDlUploadFileHeader,
  type DlFileStreamEvent,
  type DlStreamDirection,
} from '../../../src/protocol/dl-file-stream.js';
import { hasCode } from '../../../src/errors.js';
import { bytes, concat } from '../../support/bytes.js';

/** Events with adjacent data events merged, so chunkings compare equal. */
function coalesce(events: DlFileStreamEvent[]): DlFileStreamEvent[] {
  const out: DlFileStreamEvent[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (e.type === 'data' && last?.type === 'data') {
      out[out.length - 1] = { type: 'data', bytes: concat([last.bytes, e.bytes]) };
    } else if (e.type === 'data') {
      out.push({ type: 'data', bytes: Uint8Array.from(e.bytes) });
    } else {
      out.push(e);
    }
  }
  return out.filter((e) => e.type !== 'data' || e.bytes.length > 0);
}

function run(direction: DlStreamDirection, chunks: Uint8Array[]): { events: DlFileStreamEvent[]; rest: Uint8Array } {
  const p = new DlFileStreamParser(direction);
  const events: DlFileStreamEvent[] = [];
  for (const c of chunks) events.push(...p.push(c));
  return { events: coalesce(events), rest: p.takeRemainder() };
}

// The worked examples of the protocol reference (§8.5), assembled by hand.
const DOWNLOAD_OK = bytes(`
  00 00 00 10 "abc/Status.plist"
  00 00 00 06 0C "HELLO"
  00 00 00 01 00`);
const DOWNLOAD_MISSING = bytes(`
  00 00 00 10 "abc/Status.plist"
  00 00 00 1A 06 "No such file or directory"`);
const DOWNLOAD_EMPTY_FILE = bytes(`00 00 00 05 "empty" 00 00 00 01 00`);
const TERMINATOR = bytes('00 00 00 00');
const NEXT_FRAME = bytes('00 00 00 02 AB CD');

const DOWNLOAD_SAMPLE = concat([DOWNLOAD_OK, DOWNLOAD_MISSING, DOWNLOAD_EMPTY_FILE, TERMINATOR, NEXT_FRAME]);
const DOWNLOAD_EVENTS: DlFileStreamEvent[] = [
  { type: 'file-start', backupPath: 'abc/Status.plist' },
  { type: 'data', bytes: bytes('"HELLO"') },
  { type: 'file-end', ok: true },
  { type: 'file-start', backupPath: 'abc/Status.plist' },
  { type: 'file-end', ok: false, errorCode: 0x06, message: 'No such file or directory' },
  { type: 'file-start', backupPath: 'empty' },
  { type: 'file-end', ok: true },
  { type: 'end' },
];

const UPLOAD_SAMPLE = bytes(`
  00 00 00 0A "/var/tmp/a"  00 00 00 10 "abc/Status.plist"
  00 00 00 06 0C "HELLO"  00 00 00 03 0C "ab"  00 00 00 01 0C  00 00 00 01 00
  00 00 00 02 "/b"  00 00 00 03 "x/y"
  00 00 00 02 0C "Z"  00 00 00 05 0B "fail"
  00 00 00 00`);
const UPLOAD_EVENTS: DlFileStreamEvent[] = [
  { type: 'file-start', backupPath: 'abc/Status.plist', devicePath: '/var/tmp/a' },
  { type: 'data', bytes: bytes('"HELLOab"') },
  { type: 'file-end', ok: true },
  { type: 'file-start', backupPath: 'x/y', devicePath: '/b' },
  { type: 'data', bytes: bytes('"Z"') },
  { type: 'file-end', ok: false, errorCode: 0x0b, message: 'fail' },
  { type: 'end' },
];

describe('DlFileStreamParser', () => {
  test('parses the reference download example at every split point', () => {
    for (let n = 0; n <= DOWNLOAD_SAMPLE.length; n++) {
      const { events, rest } = run('download', [DOWNLOAD_SAMPLE.subarray(0, n), DOWNLOAD_SAMPLE.subarray(n)]);
      assert.deepEqual(events, DOWNLOAD_EVENTS, `split at ${n}`);
      assert.deepEqual(rest, NEXT_FRAME, `split at ${n}`);
    }
  });

  test('parses the upload sample at every split point and byte by byte', () => {
    for (let n = 0; n <= UPLOAD_SAMPLE.length; n++) {
      const { events } = run('upload', [UPLOAD_SAMPLE.subarray(0, n), UPLOAD_SAMPLE.subarray(n)]);
      assert.deepEqual(events, UPLOAD_EVENTS, `split at ${n}`);
    }
    const single = [...UPLOAD_SAMPLE].map((b) => Uint8Array.of(b));
    assert.deepEqual(run('upload', single).events, UPLOAD_EVENTS);
  });

  test('gives identical events for random chunkings', () => {
    const cuts = (len: number) => fc.uniqueArray(fc.integer({ min: 0, max: len }), { maxLength: 20 });
    fc.assert(
      fc.property(cuts(DOWNLOAD_SAMPLE.length), cuts(UPLOAD_SAMPLE.length), (a, b) => {
        const split = (buf: Uint8Array, at: number[]) => {
          const points = [0, ...[...at].sort((x, y) => x - y), buf.length];
          return points.slice(1).map((end, i) => buf.subarray(points[i], end));
        };
        const d = run('download', split(DOWNLOAD_SAMPLE, a));
        assert.deepEqual(d.events, DOWNLOAD_EVENTS);
        assert.deepEqual(d.rest, NEXT_FRAME);
        assert.deepEqual(run('upload', split(UPLOAD_SAMPLE, b)).events, UPLOAD_EVENTS);
      }),
    );
  });

  test('data events are views into the pushed chunk, not copies', () => {
    const p = new DlFileStreamParser('download');
    const events = p.push(DOWNLOAD_OK);
    const data = events.find((e) => e.type === 'data');
    assert.ok(data?.type === 'data');
    assert.equal(data.bytes.buffer, DOWNLOAD_OK.buffer);
  });

  test('an empty stream is just the terminator; a zero block length ends the stream', () => {
    assert.deepEqual(run('download', [TERMINATOR]).events, [{ type: 'end' }]);
    const cut = bytes(`00 00 00 01 "a" 00 00 00 02 0C "x" 00 00 00 00`);
    assert.deepEqual(run('download', [cut]).events, [
      { type: 'file-start', backupPath: 'a' },
      { type: 'data', bytes: bytes('"x"') },
      { type: 'file-end', ok: false, incomplete: true, message: 'The stream ended inside a file.' },
      { type: 'end' },
    ]);
  });

  test('rejects malformed streams with typed errors', () => {
    const bad: Array<[DlStreamDirection, string, 'PROTOCOL_DECODE' | 'FRAME_TOO_LARGE']> = [
      ['download', '00 00 00 01 "a" 00 00 00 01 07', 'PROTOCOL_DECODE'], // unknown block code
      ['upload', '00 00 00 01 "a" 00 00 00 00', 'PROTOCOL_DECODE'], // empty backup path
      ['download', 'FF FF FF FF', 'FRAME_TOO_LARGE'], // huge path
      ['download', '00 00 00 01 "a" FF FF FF FF 0C', 'FRAME_TOO_LARGE'], // huge block
      ['download', '00 00 00 01 "a" 00 10 00 01 06', 'FRAME_TOO_LARGE'], // huge message
      ['download', '00 00 00 02 FF FE 00 00 00 01 00', 'PROTOCOL_DECODE'], // path not UTF-8
    ];
    for (const [direction, spec, code] of bad) {
      const p = new DlFileStreamParser(direction);
      assert.throws(
        () => p.push(bytes(spec)),
        (e: unknown) => hasCode(e, code),
        spec,
      );
    }
  });

  test('honours custom limits', () => {
    const p = new DlFileStreamParser('download', { maxPathLength: 3 });
    assert.throws(
      () => p.push(bytes('00 00 00 04 "abcd"')),
      (e: unknown) => hasCode(e, 'FRAME_TOO_LARGE'),
    );
  });

  test('a truncated stream just waits for more bytes', () => {
    const p = new DlFileStreamParser('download');
    const events = p.push(DOWNLOAD_OK.subarray(0, 27));
    assert.equal(p.done, false);
    assert.deepEqual(coalesce(events), [
      { type: 'file-start', backupPath: 'abc/Status.plist' },
      { type: 'data', bytes: bytes('"HE"') },
    ]);
  });
});

describe('file stream writers', () => {
  test('produce the reference bytes', () => {
    const download = concat([
      encodeDlDownloadFileHeader('abc/Status.plist'),
      ...encodeDlDataBlocks(bytes('"HELLO"')),
      encodeDlSuccessBlock(),
      encodeDlDownloadFileHeader('abc/Status.plist'),
      encodeDlErrorBlock('No such file or directory', 'local'),
      encodeDlDownloadFileHeader('empty'),
      ...encodeDlDataBlocks(new Uint8Array(0)),
      encodeDlSuccessBlock(),
      DL_STREAM_TERMINATOR,
    ]);
    assert.deepEqual(download, DOWNLOAD_SAMPLE.subarray(0, DOWNLOAD_SAMPLE.length - NEXT_FRAME.length));
    const upload = concat([
      encodeDlUploadFileHeader('/var/tmp/a', 'abc/Status.plist'),
      encodeDlDataBlockHeader(5),
      bytes('"HELLO"'),
      encodeDlSuccessBlock(),
    ]);
    assert.deepEqual(
      upload,
      bytes(`00 00 00 0A "/var/tmp/a" 00 00 00 10 "abc/Status.plist"
      00 00 00 06 0C "HELLO" 00 00 00 01 00`),
    );
    assert.deepEqual(encodeDlErrorBlock('fail', 'remote'), bytes('00 00 00 05 0B "fail"'));
    // Lengths count UTF-8 bytes: "é" is two, "😀" four.
    assert.deepEqual(
      encodeDlUploadFileHeader('/é', 'u/😀'),
      bytes('00 00 00 03 2F C3 A9 00 00 00 06 75 2F F0 9F 98 80'),
    );
  });

  test('split data into chunks of the given size', () => {
    const blocks = encodeDlDataBlocks(new Uint8Array(10).fill(7), 4);
    assert.deepEqual(
      blocks.map((b) => b.length),
      [9, 9, 7],
    );
    assert.deepEqual(blocks[2], bytes('00 00 00 03 0C 07 07'));
  });

  test('lengths are big-endian in all four bytes, up to the largest a block may have', () => {
    assert.deepEqual(encodeDlDataBlockHeader(0x12345677), bytes('12 34 56 78 0C'));
    assert.deepEqual(encodeDlDataBlockHeader(0xfffffffd), bytes('FF FF FF FE 0C'));
    // The parser reads a word split across chunks, byte by byte, to the same value: a block of
    // 0x654320 bytes, whose data then arrives.
    const p = new DlFileStreamParser('download');
    const head = concat([bytes('00 00 00 01'), bytes('61'), bytes('00 65 43 21 0C')]);
    const events = [...p.push(head.subarray(0, 3)), ...p.push(head.subarray(3, 7)), ...p.push(head.subarray(7))];
    assert.deepEqual(events, [{ type: 'file-start', backupPath: 'a' }]);
    const data = [...p.push(new Uint8Array(0x654320))];
    assert.equal(
      data.reduce((n, e) => n + (e.type === 'data' ? e.bytes.length : 0), 0),
      0x654320,
      'exactly the block',
    );
  });
});
