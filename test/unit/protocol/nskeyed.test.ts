import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMBFile, encodeMBFile, MAX_MBFILE_BYTES } from '../../../src/protocol/nskeyed.js';
import type { MBFile } from '../../../src/protocol/nskeyed.js';
import { real, serializeBinaryPlist, uid } from '../../../src/protocol/plist/index.js';
import type { PlistDict, PlistValue } from '../../../src/protocol/plist/index.js';
import { hasCode } from '../../../src/errors.js';
import { HAVE_PYTHON, pythonArchives, pythonDump } from '../../support/nskeyed-fixtures.js';
import type { Json } from '../../support/nskeyed-fixtures.js';

const isDecode = (e: unknown): boolean => hasCode(e, 'PROTOCOL_DECODE');
const range = (from: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => from + i);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

const EK = new Uint8Array([3, 0, 0, 0, ...range(0, 40)]);
const DIGEST = range(100, 20);

/** What the plistlib fixtures hold (written independently in nskeyed-fixtures.ts). */
const EXPECTED: Record<string, MBFile> = {
  file: {
    relativePath: 'Library/SMS/sms.db',
    lastModified: 1608900000,
    lastStatusChange: 1608900001,
    birth: 1608800000,
    size: 1234,
    mode: 0o100644,
    inodeNumber: 123456,
    userId: 501,
    groupId: 501,
    flags: 0,
    protectionClass: 3,
    digest: DIGEST,
    encryptionKey: EK,
    extendedAttributes: { 'com.apple.TextEncoding': text('utf-8;134217984'), 'com.apple.rootless': new Uint8Array() },
  },
  symlink: {
    relativePath: 'Library/Caches/link',
    target: '/var/mobile/Containers/Data/x',
    lastModified: 1600000000,
    lastStatusChange: 1600000000,
    birth: 1600000000,
    size: 0,
    mode: 0o120755,
    inodeNumber: 77,
    userId: -2,
    groupId: -2,
    flags: 0,
    protectionClass: 0,
  },
  dir: {
    relativePath: '',
    lastModified: 1500000000,
    lastStatusChange: 1500000000,
    birth: 1500000000,
    size: 0,
    mode: 0o40755,
    inodeNumber: 5,
    userId: 501,
    groupId: 501,
    flags: 128,
    protectionClass: 4,
  },
  reordered: {
    relativePath: 'Media/DCIM/IMG_0001.JPG',
    size: 2n ** 60n,
    inodeNumber: 2n ** 62n,
    mode: 0o100600,
    lastModified: 1700000000,
    lastStatusChange: 1700000000,
    flags: 0,
    protectionClass: 4,
    encryptionKey: EK,
    digest: DIGEST,
  },
  'unsigned-ids': { userId: -2, groupId: -2 },
};

const FIXTURES = HAVE_PYTHON ? pythonArchives() : {};
const needPython = { skip: HAVE_PYTHON ? false : 'python3 is not installed' };

describe('decodeMBFile on archives written by plistlib', () => {
  for (const name of Object.keys(EXPECTED)) {
    test(name, needPython, () => {
      const bytes = FIXTURES[name];
      assert.ok(bytes);
      assert.deepEqual(decodeMBFile(bytes), EXPECTED[name]);
    });
  }

  test('re-encoding a decoded fixture decodes to the same record', needPython, () => {
    for (const bytes of Object.values(FIXTURES)) {
      const f = decodeMBFile(bytes);
      assert.deepEqual(decodeMBFile(encodeMBFile(f)), f);
    }
  });
});

describe('encodeMBFile', () => {
  test('writes the layout of real records (read back by plistlib)', needPython, () => {
    const file = EXPECTED.file;
    assert.ok(file);
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    const expected: Json = {
      $version: 100000,
      $archiver: 'NSKeyedArchiver',
      $top: { root: { $uid: 1 } },
      $objects: [
        '$null',
        {
          LastModified: 1608900000,
          LastStatusChange: 1608900001,
          Birth: 1608800000,
          Size: 1234,
          Mode: 0o100644,
          InodeNumber: 123456,
          UserID: 501,
          GroupID: 501,
          Flags: 0,
          ProtectionClass: 3,
          RelativePath: { $uid: 2 },
          Digest: { $uid: 3 },
          EncryptionKey: { $uid: 4 },
          ExtendedAttributes: { $uid: 6 },
          $class: { $uid: 7 },
        },
        'Library/SMS/sms.db',
        { $data: hex(DIGEST) },
        { 'NS.data': { $data: hex(EK) }, $class: { $uid: 5 } },
        { $classname: 'NSMutableData', $classes: ['NSMutableData', 'NSData', 'NSObject'] },
        {
          $xattrs: {
            'com.apple.TextEncoding': { $data: hex(text('utf-8;134217984')) },
            'com.apple.rootless': { $data: '' },
          },
        },
        { $classname: 'MBFile', $classes: ['MBFile', 'NSObject'] },
      ],
    };
    assert.deepEqual(pythonDump(encodeMBFile(file)), expected);
  });

  test('a symlink gets its Target string; no EncryptionKey class when there is no key', needPython, () => {
    const link = EXPECTED.symlink;
    assert.ok(link);
    const dump = pythonDump(encodeMBFile(link));
    assert.deepEqual(dump, {
      $version: 100000,
      $archiver: 'NSKeyedArchiver',
      $top: { root: { $uid: 1 } },
      $objects: [
        '$null',
        {
          LastModified: 1600000000,
          LastStatusChange: 1600000000,
          Birth: 1600000000,
          Size: 0,
          Mode: 0o120755,
          InodeNumber: 77,
          UserID: -2,
          GroupID: -2,
          Flags: 0,
          ProtectionClass: 0,
          RelativePath: { $uid: 2 },
          Target: { $uid: 3 },
          $class: { $uid: 4 },
        },
        'Library/Caches/link',
        '/var/mobile/Containers/Data/x',
        { $classname: 'MBFile', $classes: ['MBFile', 'NSObject'] },
      ],
    });
  });

  test('non-integer numbers are refused', () => {
    assert.throws(
      () => encodeMBFile({ size: 1.5 }),
      (e: unknown) => hasCode(e, 'INTERNAL'),
    );
  });

  test('decode(encode(f)) equals f for any record (property)', () => {
    const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    const big = fc.oneof(fc.nat(), fc.bigInt({ min: 2n ** 53n, max: 2n ** 63n - 1n }));
    const record = fc.record(
      {
        relativePath: fc.string(),
        target: fc.string(),
        lastModified: fc.nat(),
        lastStatusChange: fc.nat(),
        birth: fc.nat(),
        size: big,
        mode: fc.nat(0o177777),
        inodeNumber: big,
        userId: int,
        groupId: int,
        flags: fc.nat(),
        protectionClass: fc.nat(11),
        encryptionKey: fc.uint8Array({ maxLength: 44 }),
        extendedAttributes: fc.dictionary(fc.string({ minLength: 1 }), fc.uint8Array({ maxLength: 8 }), {
          maxKeys: 3,
          noNullPrototype: true,
        }),
        digest: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      },
      { requiredKeys: [], noNullPrototype: true },
    );
    fc.assert(
      fc.property(record, (f) => {
        assert.deepEqual(decodeMBFile(encodeMBFile(f)), f);
      }),
      { numRuns: 200 },
    );
  });
});

/** A valid archive as a plist tree, for the malformed-input tests to break. */
function tree(): PlistDict {
  return {
    $version: 100000,
    $archiver: 'NSKeyedArchiver',
    $top: { root: uid(1) },
    $objects: [
      '$null',
      {
        Size: 3,
        Mode: 0o100644,
        RelativePath: uid(2),
        EncryptionKey: uid(3),
        ExtendedAttributes: uid(5),
        $class: uid(6),
      },
      'a/b',
      { 'NS.data': EK, $class: uid(4) },
      { $classname: 'NSMutableData', $classes: ['NSMutableData', 'NSData', 'NSObject'] },
      serializeBinaryPlist({ 'user.x': text('1') }),
      { $classname: 'MBFile', $classes: ['MBFile', 'NSObject'] },
    ],
  };
}

function objectsOf(t: PlistDict): PlistValue[] {
  const o = t.$objects;
  assert.ok(Array.isArray(o));
  return o;
}

function mbOf(t: PlistDict): PlistDict {
  const mb = objectsOf(t)[1];
  assert.ok(mb !== undefined && typeof mb === 'object' && !Array.isArray(mb) && !(mb instanceof Uint8Array));
  return mb as PlistDict;
}

describe('malformed archives throw PROTOCOL_DECODE', () => {
  test('the base tree is valid', () => {
    assert.deepEqual(decodeMBFile(serializeBinaryPlist(tree())), {
      size: 3,
      mode: 0o100644,
      relativePath: 'a/b',
      encryptionKey: EK,
      extendedAttributes: { 'user.x': text('1') },
    });
  });

  const cases: Array<[string, (t: PlistDict) => PlistValue]> = [
    ['top level is an array', (t) => [t]],
    ['$archiver missing', (t) => (delete t.$archiver, t)],
    ['$archiver is another archiver', (t) => ((t.$archiver = 'NSArchiver'), t)],
    ['$version is a string', (t) => ((t.$version = '100000'), t)],
    ['$objects missing', (t) => (delete t.$objects, t)],
    ['$objects is a dict', (t) => ((t.$objects = { a: 1 }), t)],
    ['$top missing', (t) => (delete t.$top, t)],
    ['$top.root is an integer', (t) => ((t.$top = { root: 1 }), t)],
    ['$top.root out of range', (t) => ((t.$top = { root: uid(7) }), t)],
    ['root is a string', (t) => ((t.$top = { root: uid(2) }), t)],
    ['root is $null', (t) => ((t.$top = { root: uid(0) }), t)],
    ['root class out of range', (t) => ((mbOf(t).$class = uid(70)), t)],
    ['root class missing', (t) => (delete mbOf(t).$class, t)],
    ['root is not an MBFile', (t) => ((mbOf(t).$class = uid(4)), t)],
    ['class dict without $classname', (t) => ((objectsOf(t)[6] = { $classes: ['MBFile'] }), t)],
    ['RelativePath out of range', (t) => ((mbOf(t).RelativePath = uid(1000)), t)],
    ['RelativePath points at data', (t) => ((mbOf(t).RelativePath = uid(5)), t)],
    ['RelativePath points at the MBFile itself', (t) => ((mbOf(t).RelativePath = uid(1)), t)],
    ['RelativePath inline integer', (t) => ((mbOf(t).RelativePath = 5), t)],
    ['Size is a string', (t) => ((mbOf(t).Size = '3'), t)],
    ['Mode is a real', (t) => ((mbOf(t).Mode = real(1.5)), t)],
    ['LastModified is a date', (t) => ((mbOf(t).LastModified = new Date(0)), t)],
    ['LastModified beyond 2^53', (t) => ((mbOf(t).LastModified = 2n ** 60n), t)],
    ['UserID beyond 2^53', (t) => ((mbOf(t).UserID = 2n ** 60n), t)],
    ['a UID out of range in an unreferenced object', (t) => (objectsOf(t).push([uid(99)]), t)],
    ['EncryptionKey object without NS.data', (t) => ((objectsOf(t)[3] = { $class: uid(4) }), t)],
    ['EncryptionKey NS.data is a string', (t) => ((objectsOf(t)[3] = { 'NS.data': 'x', $class: uid(4) }), t)],
    ['EncryptionKey class out of range', (t) => ((objectsOf(t)[3] = { 'NS.data': EK, $class: uid(40) }), t)],
    ['EncryptionKey is a number', (t) => ((objectsOf(t)[3] = 7), t)],
    ['ExtendedAttributes is not a plist', (t) => ((objectsOf(t)[5] = text('not a plist')), t)],
    ['ExtendedAttributes holds an array', (t) => ((objectsOf(t)[5] = serializeBinaryPlist([text('x')])), t)],
    ['an extended attribute is a string', (t) => ((objectsOf(t)[5] = serializeBinaryPlist({ a: 'x' })), t)],
  ];
  for (const [name, mutate] of cases) {
    test(name, () => {
      const bytes = serializeBinaryPlist(mutate(tree()));
      assert.throws(() => decodeMBFile(bytes), isDecode);
    });
  }

  test('bytes that are not a plist', () => {
    for (const b of [new Uint8Array(), text('bplist00'), text('hello'), new Uint8Array(64)]) {
      assert.throws(() => decodeMBFile(b), isDecode);
    }
  });

  test('oversize input is refused before parsing', () => {
    assert.throws(() => decodeMBFile(new Uint8Array(MAX_MBFILE_BYTES + 1)), isDecode);
  });

  test('every truncation of a valid archive throws PROTOCOL_DECODE', () => {
    const bytes = encodeMBFile({ ...EXPECTED.file });
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(() => decodeMBFile(bytes.subarray(0, n)), isDecode, `prefix ${n}`);
    }
  });

  test('corrupted bytes either decode or throw PROTOCOL_DECODE (property)', () => {
    const bytes = encodeMBFile({ ...EXPECTED.file });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (edits) => {
          const b = bytes.slice();
          for (const [at, v] of edits) b[at] = v;
          try {
            decodeMBFile(b);
          } catch (e) {
            assert.ok(isDecode(e), String(e));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
