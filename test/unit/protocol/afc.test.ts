import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AfcDecoder,
  AfcFileMode,
  AfcLockOp,
  AfcOp,
  AfcStatus,
  afcStatusName,
  decodeAfcFileLock,
  decodeAfcFileOpen,
  decodeAfcFileRead,
  decodeAfcFileWrite,
  decodeAfcKeyValues,
  decodeAfcPath,
  decodeAfcRename,
  decodeAfcStrings,
  decodeAfcU64,
  encodeAfcFileLock,
  encodeAfcFileOpen,
  encodeAfcFileRead,
  encodeAfcKeyValues,
  encodeAfcPacket,
  encodeAfcPath,
  encodeAfcRename,
  encodeAfcStrings,
  encodeAfcU64,
  type AfcPacket,
} from '../../../src/protocol/afc.js';
import { hasCode } from '../../../src/errors.js';
import { bytes, concat } from '../../support/bytes.js';

/** A u64 LE as hex text. */
function le64(n: number): string {
  return Array.from({ length: 8 }, (_, i) => (Math.floor(n / 256 ** i) % 256).toString(16).padStart(2, '0')).join(' ');
}

// The lock request and its reply from the protocol reference (§7.2).
const LOCK_REQUEST = bytes(`
  43 46 41 36 4C 50 41 41  38 00 00 00 00 00 00 00  38 00 00 00 00 00 00 00
  03 00 00 00 00 00 00 00  1B 00 00 00 00 00 00 00  01 00 00 00 00 00 00 00
  06 00 00 00 00 00 00 00`);
const LOCK_REPLY = bytes(`"CFA6LPAA" ${le64(48)} ${le64(48)} ${le64(3)} ${le64(1)} ${le64(0)}`);
// FileOpen of the sync lock file, mode 2: 40 + 8 + 28 = 76 bytes.
const OPEN_REQUEST = bytes(
  `"CFA6LPAA" ${le64(76)} ${le64(76)} ${le64(1)} ${le64(0x0d)} ${le64(2)} "/com.apple.itunes.lock_sync" 00`,
);
// libimobiledevice-style write: handle in the header data, bytes as payload.
const WRITE_REQUEST = bytes(`"CFA6LPAA" ${le64(53)} ${le64(48)} ${le64(4)} ${le64(0x10)} ${le64(7)} "hello"`);
// pymobiledevice3-style: this_length equals entire_length.
const WRITE_REQUEST_ALL_HEADER = bytes(
  `"CFA6LPAA" ${le64(53)} ${le64(53)} ${le64(0)} ${le64(0x10)} ${le64(7)} "hello"`,
);
const EMPTY_DATA = bytes(`"CFA6LPAA" ${le64(40)} ${le64(40)} ${le64(9)} ${le64(2)}`);

const SAMPLE = concat([LOCK_REQUEST, LOCK_REPLY, OPEN_REQUEST, WRITE_REQUEST, WRITE_REQUEST_ALL_HEADER, EMPTY_DATA]);

interface Plain {
  packetNum: number;
  operation: number;
  headerPayload: number[];
  payload: number[];
  body: number[];
}
const plain = (p: AfcPacket): Plain => ({
  packetNum: p.packetNum,
  operation: p.operation,
  headerPayload: [...p.headerPayload],
  payload: [...p.payload],
  body: [...p.body],
});

const EXPECTED: Plain[] = [
  {
    packetNum: 3,
    operation: 0x1b,
    headerPayload: [...bytes(`${le64(1)} ${le64(6)}`)],
    payload: [],
    body: [...bytes(`${le64(1)} ${le64(6)}`)],
  },
  { packetNum: 3, operation: 0x01, headerPayload: [...bytes(le64(0))], payload: [], body: [...bytes(le64(0))] },
  {
    packetNum: 1,
    operation: 0x0d,
    headerPayload: [...OPEN_REQUEST.subarray(40)],
    payload: [],
    body: [...OPEN_REQUEST.subarray(40)],
  },
  {
    packetNum: 4,
    operation: 0x10,
    headerPayload: [...bytes(le64(7))],
    payload: [...bytes('"hello"')],
    body: [...WRITE_REQUEST.subarray(40)],
  },
  {
    packetNum: 0,
    operation: 0x10,
    headerPayload: [...WRITE_REQUEST_ALL_HEADER.subarray(40)],
    payload: [],
    body: [...WRITE_REQUEST_ALL_HEADER.subarray(40)],
  },
  { packetNum: 9, operation: 0x02, headerPayload: [], payload: [], body: [] },
];

function decodeAll(chunks: Uint8Array[]): Plain[] {
  const d = new AfcDecoder();
  const out: Plain[] = [];
  for (const c of chunks) out.push(...d.push(c).map(plain));
  assert.equal(d.pending, 0);
  return out;
}

describe('AFC packets', () => {
  test('encode the reference lock request, reply and FileOpen byte for byte', () => {
    assert.deepEqual(
      encodeAfcPacket({
        packetNum: 3,
        operation: AfcOp.FileLock,
        headerPayload: encodeAfcFileLock(1, AfcLockOp.Exclusive),
      }),
      LOCK_REQUEST,
    );
    assert.deepEqual(
      encodeAfcPacket({ packetNum: 3, operation: AfcOp.Status, headerPayload: encodeAfcU64(AfcStatus.Success) }),
      LOCK_REPLY,
    );
    const open = encodeAfcPacket({
      packetNum: 1,
      operation: AfcOp.FileOpen,
      headerPayload: encodeAfcFileOpen(AfcFileMode.ReadWrite, '/com.apple.itunes.lock_sync'),
    });
    assert.equal(open.length, 76);
    assert.deepEqual(open, OPEN_REQUEST);
    assert.deepEqual(
      encodeAfcPacket({
        packetNum: 4,
        operation: AfcOp.FileWrite,
        headerPayload: encodeAfcU64(7),
        payload: bytes('"hello"'),
      }),
      WRITE_REQUEST,
    );
  });

  test('decode at every split point', () => {
    for (let n = 0; n <= SAMPLE.length; n++) {
      assert.deepEqual(decodeAll([SAMPLE.subarray(0, n), SAMPLE.subarray(n)]), EXPECTED, `split at ${n}`);
    }
    assert.deepEqual(decodeAll([...SAMPLE].map((b) => Uint8Array.of(b))), EXPECTED);
  });

  test('decode random chunkings', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: SAMPLE.length }), { maxLength: 30 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), SAMPLE.length];
        const chunks = points.slice(1).map((end, i) => SAMPLE.subarray(points[i], end));
        assert.deepEqual(decodeAll(chunks), EXPECTED);
      }),
    );
  });

  test('reject malformed headers with typed errors', () => {
    const cases: Array<[string, Uint8Array, 'PROTOCOL_DECODE' | 'FRAME_TOO_LARGE']> = [
      ['bad magic', bytes(`"CFA6LPAB" ${le64(40)} ${le64(40)} ${le64(0)} ${le64(1)}`), 'PROTOCOL_DECODE'],
      ['this_length < 40', bytes(`"CFA6LPAA" ${le64(40)} ${le64(39)} ${le64(0)} ${le64(1)}`), 'PROTOCOL_DECODE'],
      ['entire < this', bytes(`"CFA6LPAA" ${le64(48)} ${le64(56)} ${le64(0)} ${le64(1)}`), 'PROTOCOL_DECODE'],
      ['huge', bytes(`"CFA6LPAA" FF FF FF FF FF FF FF FF ${le64(40)} ${le64(0)} ${le64(1)}`), 'FRAME_TOO_LARGE'],
      [
        'huge packet number',
        bytes(`"CFA6LPAA" ${le64(40)} ${le64(40)} FF FF FF FF FF FF FF FF ${le64(1)}`),
        'PROTOCOL_DECODE',
      ],
    ];
    for (const [name, buf, code] of cases) {
      assert.throws(
        () => new AfcDecoder().push(buf),
        (e: unknown) => hasCode(e, code),
        name,
      );
    }
    const small = new AfcDecoder({ maxPacketSize: 60 });
    assert.throws(
      () => small.push(OPEN_REQUEST),
      (e: unknown) => hasCode(e, 'FRAME_TOO_LARGE'),
    );
  });

  test('a truncated packet waits for more bytes', () => {
    const d = new AfcDecoder();
    assert.deepEqual(d.push(OPEN_REQUEST.subarray(0, 75)), []);
    assert.equal(d.pending, 75);
  });
});

describe('AFC bodies', () => {
  test('paths, rename and string lists', () => {
    assert.deepEqual(encodeAfcPath('/a b'), bytes('"/a b" 00'));
    assert.equal(decodeAfcPath(bytes('"/x/y" 00')), '/x/y');
    assert.equal(decodeAfcPath(bytes('"/x/y"')), '/x/y');
    assert.deepEqual(encodeAfcRename('/a', '/b'), bytes('"/a" 00 "/b" 00'));
    assert.deepEqual(decodeAfcRename(bytes('"/a" 00 "/b" 00')), { from: '/a', to: '/b' });
    assert.deepEqual(decodeAfcStrings(bytes('"." 00 ".." 00 "Books" 00')), ['.', '..', 'Books']);
    assert.deepEqual(encodeAfcStrings(['.', '..']), bytes('"." 00 ".." 00'));
    assert.deepEqual(decodeAfcStrings(new Uint8Array(0)), []);
  });

  test('file info key/value lists', () => {
    const info = bytes('"st_size" 00 "5" 00 "st_ifmt" 00 "S_IFREG" 00');
    assert.deepEqual(decodeAfcKeyValues(info), { st_size: '5', st_ifmt: 'S_IFREG' });
    assert.deepEqual(encodeAfcKeyValues({ st_size: '5', st_ifmt: 'S_IFREG' }), info);
    const proto = decodeAfcKeyValues(bytes('"__proto__" 00 "x" 00'));
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.equal(proto['__proto__'], 'x');
  });

  test('handles, open, read, lock and write arguments', () => {
    assert.deepEqual(decodeAfcFileOpen(OPEN_REQUEST.subarray(40)), { mode: 2, path: '/com.apple.itunes.lock_sync' });
    assert.deepEqual(decodeAfcFileLock(LOCK_REQUEST.subarray(40)), { handle: 1, op: AfcLockOp.Exclusive });
    assert.deepEqual(encodeAfcFileRead(1, 65536), bytes(`${le64(1)} ${le64(65536)}`));
    assert.deepEqual(decodeAfcFileRead(bytes(`${le64(1)} ${le64(65536)}`)), { handle: 1, length: 65536 });
    const w = decodeAfcFileWrite(WRITE_REQUEST_ALL_HEADER.subarray(40));
    assert.equal(w.handle, 7);
    assert.deepEqual(w.data, bytes('"hello"'));
    assert.equal(decodeAfcU64(bytes(le64(19))), 19);
    assert.deepEqual([AfcLockOp.Shared, AfcLockOp.Exclusive, AfcLockOp.Unlock], [5, 6, 12]);
    assert.equal(afcStatusName(19), 'OpWouldBlock');
    assert.equal(afcStatusName(999), undefined);
  });

  test('reject malformed bodies with PROTOCOL_DECODE', () => {
    const bad: Array<() => unknown> = [
      () => decodeAfcU64(bytes('01 02 03')),
      () => decodeAfcFileLock(bytes(le64(1))),
      () => decodeAfcFileOpen(bytes(le64(2))),
      () => decodeAfcRename(bytes('"/a" 00')),
      () => decodeAfcKeyValues(bytes('"k" 00')),
      () => decodeAfcPath(bytes('FF 00')),
      () => decodeAfcU64(bytes('FF FF FF FF FF FF FF FF')),
    ];
    for (const f of bad) assert.throws(f, (e: unknown) => hasCode(e, 'PROTOCOL_DECODE'));
  });
});
