import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import {
  DL_DEVICE_REQUEST_NAMES,
  DL_EMPTY_PARAMETER,
  decodeDeviceLinkMessage,
  encodeDeviceLinkMessage,
  isDlDeviceRequest,
  type DeviceLinkMessage,
  type DlRequestHandlers,
} from '../../../src/protocol/devicelink.js';
import { dlHello, dlHelloResponse } from '../../../src/protocol/devicelink-hello.js';
import { PlistReal, parsePlist, serializeBinaryPlist, type PlistValue } from '../../../src/protocol/plist/index.js';
import { hasCode } from '../../../src/errors.js';

const r = (n: number): PlistReal => new PlistReal(n);
const E = '___EmptyParameterString___';
const U64 = (n: number): bigint => 2n ** 64n + BigInt(n);

// Typed message ↔ wire array, wire arrays written out by hand from the protocol reference (§8).
const PAIRS: Array<[DeviceLinkMessage, PlistValue]> = [
  [{ name: 'DLMessageVersionExchange', kind: 'offer', major: 400, minor: 0 }, ['DLMessageVersionExchange', 400, 0]],
  [
    { name: 'DLMessageVersionExchange', kind: 'reply', status: 'DLVersionsOk', version: 400 },
    ['DLMessageVersionExchange', 'DLVersionsOk', 400],
  ],
  [{ name: 'DLMessageDeviceReady' }, ['DLMessageDeviceReady']],
  [
    { name: 'DLMessageProcessMessage', message: { MessageName: 'Backup', TargetIdentifier: 'U' } },
    ['DLMessageProcessMessage', { MessageName: 'Backup', TargetIdentifier: 'U' }],
  ],
  [{ name: 'DLMessageDisconnect' }, ['DLMessageDisconnect', E]],
  [{ name: 'DLMessageDisconnect', reason: 'bye' }, ['DLMessageDisconnect', 'bye']],
  [{ name: 'DLMessagePing', message: 'x' }, ['DLMessagePing', 'x']],
  [{ name: 'DLMessageStatusResponse', code: 0, value: {} }, ['DLMessageStatusResponse', 0, E, {}]],
  [{ name: 'DLMessageStatusResponse', code: 0, value: 123456789012 }, ['DLMessageStatusResponse', 0, E, 123456789012]],
  [{ name: 'DLMessageStatusResponse', code: 0 }, ['DLMessageStatusResponse', 0, E, E]],
  [
    {
      name: 'DLMessageStatusResponse',
      code: -13,
      status: 'Multi status',
      value: { 'abc/Status.plist': { DLFileErrorString: 'No such file or directory', DLFileErrorCode: U64(-6) } },
    },
    [
      'DLMessageStatusResponse',
      U64(-13),
      'Multi status',
      { 'abc/Status.plist': { DLFileErrorString: 'No such file or directory', DLFileErrorCode: U64(-6) } },
    ],
  ],
  [
    { name: 'DLMessageDownloadFiles', files: ['U/Status.plist'], options: {}, progress: 0, extra: [0] },
    ['DLMessageDownloadFiles', ['U/Status.plist'], {}, r(0), 0],
  ],
  [
    { name: 'DLMessageUploadFiles', options: { DLDeviceIOCallbacks: 1 }, progress: 12.5, totalBytes: 4096 },
    ['DLMessageUploadFiles', { DLDeviceIOCallbacks: 1 }, r(12.5), 4096],
  ],
  [{ name: 'DLMessageGetFreeDiskSpace' }, ['DLMessageGetFreeDiskSpace']],
  [{ name: 'DLMessageGetFreeDiskSpace', extra: [{}] }, ['DLMessageGetFreeDiskSpace', {}]],
  [{ name: 'DLContentsOfDirectory', path: 'U/Snapshot', extra: [{}] }, ['DLContentsOfDirectory', 'U/Snapshot', {}]],
  [
    { name: 'DLMessageCreateDirectory', path: 'U/00', options: {}, progress: 1 },
    ['DLMessageCreateDirectory', 'U/00', {}, r(1)],
  ],
  [
    {
      name: 'DLMessageMoveItems',
      moves: [
        { from: 'U/Snapshot/ab/ab1', to: 'U/ab/ab1' },
        { from: 'U/Snapshot/Manifest.db', to: 'U/Manifest.db' },
      ],
      options: {},
      progress: 99,
    },
    ['DLMessageMoveItems', { 'U/Snapshot/ab/ab1': 'U/ab/ab1', 'U/Snapshot/Manifest.db': 'U/Manifest.db' }, {}, r(99)],
  ],
  [
    { name: 'DLMessageMoveFiles', moves: [{ from: 'a', to: 'b' }], options: {} },
    ['DLMessageMoveFiles', { a: 'b' }, {}],
  ],
  [
    { name: 'DLMessageRemoveItems', paths: ['U/Snapshot'], options: {}, progress: 100 },
    ['DLMessageRemoveItems', ['U/Snapshot'], {}, r(100)],
  ],
  [{ name: 'DLMessageRemoveFiles', paths: [], options: {} }, ['DLMessageRemoveFiles', [], {}]],
  [{ name: 'DLMessageCopyItem', from: 'A', to: 'B' }, ['DLMessageCopyItem', 'A', 'B']],
  [{ name: 'DLMessagePurgeDiskSpace' }, ['DLMessagePurgeDiskSpace']],
  [
    { name: 'unknown', messageName: 'DLMessageSomethingNew', raw: ['DLMessageSomethingNew', 1] },
    ['DLMessageSomethingNew', 1],
  ],
];

describe('DeviceLink messages', () => {
  test('encode to the hand-written wire arrays', () => {
    for (const [msg, wire] of PAIRS) assert.deepEqual(encodeDeviceLinkMessage(msg), wire, msg.name);
  });

  test('decode the hand-written wire arrays', () => {
    for (const [msg, wire] of PAIRS) assert.deepEqual(decodeDeviceLinkMessage(wire), msg, JSON.stringify(msg.name));
  });

  test('progress values are reals on the wire, even when whole', () => {
    const wire = encodeDeviceLinkMessage({ name: 'DLMessageCreateDirectory', path: 'p', options: {}, progress: 3 });
    assert.ok(Array.isArray(wire));
    assert.ok(wire[3] instanceof PlistReal);
  });

  test('tolerate the variants real clients and devices send', () => {
    // Integer progress (older iOS), the empty-parameter marker in place of a dict.
    assert.deepEqual(decodeDeviceLinkMessage(['DLMessageDownloadFiles', ['a'], E, 5]), {
      name: 'DLMessageDownloadFiles',
      files: ['a'],
      options: {},
      progress: 5,
    });
    // A negative code sent as a plain negative integer (pymobiledevice3 style) or as uint64.
    for (const code of [-6, U64(-6)]) {
      const m = decodeDeviceLinkMessage(['DLMessageStatusResponse', code, E, E]);
      assert.ok(m.name === 'DLMessageStatusResponse');
      assert.equal(m.code, -6);
    }
    // A reply whose progress is missing but total present keeps positions.
    const wire = encodeDeviceLinkMessage({ name: 'DLMessageUploadFiles', options: {}, totalBytes: 7 });
    assert.deepEqual(wire, ['DLMessageUploadFiles', {}, E, 7]);
    assert.deepEqual(decodeDeviceLinkMessage(wire), { name: 'DLMessageUploadFiles', options: {}, totalBytes: 7 });
    // A VersionExchange as seen in the real backup sequence.
    assert.deepEqual(decodeDeviceLinkMessage(['DLMessageVersionExchange', 300, 0]), {
      name: 'DLMessageVersionExchange',
      kind: 'offer',
      major: 300,
      minor: 0,
    });
  });

  test('reject malformed messages with PROTOCOL_DECODE', () => {
    const bad: PlistValue[] = [
      'DLMessageDeviceReady',
      [],
      [1, 2],
      { a: 1 },
      ['DLMessageProcessMessage'],
      ['DLMessageProcessMessage', 'x'],
      ['DLMessageDownloadFiles', 'U/Status.plist', {}],
      ['DLMessageDownloadFiles', ['ok', 3], {}],
      ['DLMessageDownloadFiles', [], 'not a dict'],
      ['DLMessageDownloadFiles', [], {}, 'fast'],
      ['DLMessageMoveItems', { a: 1 }, {}],
      ['DLMessageMoveItems', ['a', 'b'], {}],
      ['DLMessageCopyItem', 'A'],
      ['DLContentsOfDirectory'],
      ['DLMessageCreateDirectory', 5],
      ['DLMessageStatusResponse', r(0.5), E, E],
      ['DLMessageStatusResponse'],
      ['DLMessageVersionExchange', 'DLVersionsOk'],
      ['DLMessageVersionExchange'],
      ['DLMessageDisconnect', 3],
    ];
    for (const v of bad) {
      assert.throws(
        () => decodeDeviceLinkMessage(v),
        (e: unknown) => hasCode(e, 'PROTOCOL_DECODE'),
        JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)),
      );
    }
  });

  test('round-trip generated file-system requests', () => {
    const path = fc.string({ minLength: 1, maxLength: 20 });
    const prog = fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined });
    const msg: fc.Arbitrary<DeviceLinkMessage> = fc.oneof(
      fc.record(
        {
          name: fc.constant('DLMessageDownloadFiles' as const),
          files: fc.array(path),
          options: fc.constant({}),
          progress: prog,
        },
        { requiredKeys: ['name', 'files', 'options'] },
      ),
      fc.record(
        {
          name: fc.constant('DLMessageRemoveItems' as const),
          paths: fc.array(path),
          options: fc.constant({}),
          progress: prog,
        },
        { requiredKeys: ['name', 'paths', 'options'] },
      ),
      fc.record({ name: fc.constant('DLMessageCopyItem' as const), from: path, to: path }),
      fc.record({
        name: fc.constant('DLMessageStatusResponse' as const),
        code: fc.integer({ min: -20, max: 10 }),
        status: path,
      }),
    );
    fc.assert(
      fc.property(msg, (m) => {
        const clean = JSON.parse(JSON.stringify(m)) as DeviceLinkMessage;
        assert.deepEqual(decodeDeviceLinkMessage(encodeDeviceLinkMessage(m)), clean);
      }),
    );
  });

  test('the device request names support an exhaustive dispatch table', () => {
    const handlers = {
      DLMessageDownloadFiles: (m) => m.files.join(','),
      DLMessageUploadFiles: (m) => String(m.totalBytes),
      DLMessageGetFreeDiskSpace: () => 'free',
      DLContentsOfDirectory: (m) => m.path,
      DLMessageCreateDirectory: (m) => m.path,
      DLMessageMoveItems: (m) => m.moves.map((x) => x.to).join(','),
      DLMessageMoveFiles: (m) => m.moves.map((x) => x.to).join(','),
      DLMessageRemoveItems: (m) => m.paths.join(','),
      DLMessageRemoveFiles: (m) => m.paths.join(','),
      DLMessageCopyItem: (m) => m.to,
      DLMessagePurgeDiskSpace: () => 'purge',
    } satisfies DlRequestHandlers<string>;
    assert.deepEqual(Object.keys(handlers).sort(), [...DL_DEVICE_REQUEST_NAMES].sort());
    const m = decodeDeviceLinkMessage(['DLMessageCopyItem', 'A', 'B']);
    assert.ok(isDlDeviceRequest(m));
    assert.equal(isDlDeviceRequest(decodeDeviceLinkMessage(['DLMessageDeviceReady'])), false);
    assert.equal(DL_EMPTY_PARAMETER, E);
  });

  test('Hello and its response carry reals', () => {
    assert.deepEqual(encodeDeviceLinkMessage(dlHello()), [
      'DLMessageProcessMessage',
      { MessageName: 'Hello', SupportedProtocolVersions: [r(2), r(2.1)] },
    ]);
    assert.deepEqual(encodeDeviceLinkMessage(dlHelloResponse(2.1)), [
      'DLMessageProcessMessage',
      { MessageName: 'Response', ErrorCode: 0, ProtocolVersion: r(2.1) },
    ]);
  });
});

const HAVE_PYTHON = spawnSync('python3', ['-c', 'import plistlib'], { encoding: 'utf8' }).status === 0;

/** Runs a python3 script that reads base64 on stdin and prints base64 or JSON. */
function python(script: string, input: Uint8Array): string {
  const r = spawnSync('python3', ['-c', script], { input: Buffer.from(input).toString('base64'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return r.stdout.trim();
}

describe('DeviceLink messages through real plist bytes', { skip: !HAVE_PYTHON && 'python3 not installed' }, () => {
  test('a binary plist written by plistlib decodes to the typed message', () => {
    const script = `
import plistlib, base64, sys
msg = ["DLMessageDownloadFiles", ["U/Status.plist", "U/Manifest.plist"], {}, 12.5, 0]
sys.stdout.write(base64.b64encode(plistlib.dumps(msg, fmt=plistlib.FMT_BINARY)).decode())`;
    const bytes = Uint8Array.from(Buffer.from(python(script, new Uint8Array(0)), 'base64'));
    assert.deepEqual(decodeDeviceLinkMessage(parsePlist(bytes)), {
      name: 'DLMessageDownloadFiles',
      files: ['U/Status.plist', 'U/Manifest.plist'],
      options: {},
      progress: 12.5,
      extra: [0],
    });
  });

  test('encoded progress and protocol versions are reals to plistlib', () => {
    const dump = `
import plistlib, base64, sys, json
v = plistlib.loads(base64.b64decode(sys.stdin.read()))
def kinds(x):
    if isinstance(x, list): return [kinds(i) for i in x]
    if isinstance(x, dict): return {k: kinds(i) for k, i in x.items()}
    return type(x).__name__
print(json.dumps(kinds(v)))`;
    const create = serializeBinaryPlist(
      encodeDeviceLinkMessage({ name: 'DLMessageCreateDirectory', path: 'U/00', options: {}, progress: 4 }),
    );
    assert.deepEqual(JSON.parse(python(dump, create)), ['str', 'str', {}, 'float']);
    const hello = serializeBinaryPlist(encodeDeviceLinkMessage(dlHello()));
    assert.deepEqual(JSON.parse(python(dump, hello)), [
      'str',
      { MessageName: 'str', SupportedProtocolVersions: ['float', 'float'] },
    ]);
  });
});
