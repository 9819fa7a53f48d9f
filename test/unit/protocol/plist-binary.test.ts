/**
 * Binary plist codec against hand-assembled byte vectors (bplist00 layout: magic, objects,
 * offset table, 32-byte trailer). The vectors are written out by hand below, never produced by
 * the encoder under test.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBinaryPlist, serializeBinaryPlist } from '../../../src/protocol/plist/binary.js';
import { asSignedCode, real, uid, type PlistValue } from '../../../src/protocol/plist/types.js';
import { assemble } from '../../support/plist-fixtures.js';

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

describe('binary plist: hand-written vectors', () => {
  // {"a": 1}, byte for byte:
  const dictA1 = Uint8Array.from([
    0x62,
    0x70,
    0x6c,
    0x69,
    0x73,
    0x74,
    0x30,
    0x30, // "bplist00"
    0xd1,
    0x01,
    0x02, //                              @8  object 0: dict, 1 entry, key ref 1, value ref 2
    0x51,
    0x61, //                                    @11 object 1: ASCII string, length 1, "a"
    0x10,
    0x01, //                                    @13 object 2: 1-byte integer 1
    0x08,
    0x0b,
    0x0d, //                              @15 offset table: 8, 11, 13
    0,
    0,
    0,
    0,
    0,
    0, //                              trailer: 6 unused bytes
    0x01,
    0x01, //                                    offset size 1, object-ref size 1
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    3, //                        3 objects
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0, //                        top object 0
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0x0f, //                     offset table at 15
  ]);

  test('decodes {"a": 1}', () => {
    assert.deepEqual(parseBinaryPlist(dictA1), { a: 1 });
  });

  test('encodes {"a": 1} to the same bytes', () => {
    assert.equal(hex(serializeBinaryPlist({ a: 1 })), hex(dictA1));
  });

  test('the assembler reproduces the hand-written vector', () => {
    assert.equal(
      hex(
        assemble([
          [0xd1, 1, 2],
          [0x51, 0x61],
          [0x10, 1],
        ]),
      ),
      hex(dictA1),
    );
  });

  const scalars: [string, number[], PlistValue][] = [
    ['false', [0x08], false],
    ['true', [0x09], true],
    ['1-byte int 0', [0x10, 0x00], 0],
    ['1-byte int 255 (unsigned)', [0x10, 0xff], 255],
    ['2-byte int 256', [0x11, 0x01, 0x00], 256],
    ['2-byte int 65535 (unsigned)', [0x11, 0xff, 0xff], 65535],
    ['4-byte int 65536', [0x12, 0x00, 0x01, 0x00, 0x00], 65536],
    ['4-byte int 2^32-1 (unsigned)', [0x12, 0xff, 0xff, 0xff, 0xff], 4294967295],
    ['8-byte int -1 (signed)', [0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], -1],
    ['8-byte int 2^32', [0x13, 0, 0, 0, 0x01, 0, 0, 0, 0], 4294967296],
    ['8-byte int -2^40', [0x13, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0], -1099511627776],
    ['8-byte int 2^53+1 (bigint)', [0x13, 0, 0x20, 0, 0, 0, 0, 0, 0x01], 9007199254740993n],
    ['8-byte int 2^63-1', [0x13, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 9223372036854775807n],
    ['8-byte int -2^63', [0x13, 0x80, 0, 0, 0, 0, 0, 0, 0], -9223372036854775808n],
    ['real 2.0 (8 bytes)', [0x23, 0x40, 0, 0, 0, 0, 0, 0, 0], real(2)],
    ['real -0.5 (8 bytes)', [0x23, 0xbf, 0xe0, 0, 0, 0, 0, 0, 0], real(-0.5)],
    ['real 1.5 (4 bytes, as libplist writes)', [0x22, 0x3f, 0xc0, 0x00, 0x00], real(1.5)],
    ['date at the 2001 epoch', [0x33, 0, 0, 0, 0, 0, 0, 0, 0], new Date('2001-01-01T00:00:00Z')],
    ['date 2020-01-02T03:04:05Z', [0x33, 0x41, 0xc1, 0xde, 0xca, 0x92, 0x80, 0, 0], new Date('2020-01-02T03:04:05Z')],
    ['date before 2001 (negative seconds)', [0x33, 0xc0, 0x59, 0, 0, 0, 0, 0, 0], new Date('2000-12-31T23:58:20Z')],
    ['data 01 02 03', [0x43, 1, 2, 3], Uint8Array.from([1, 2, 3])],
    ['empty data', [0x40], new Uint8Array(0)],
    ['ASCII string "abc"', [0x53, 0x61, 0x62, 0x63], 'abc'],
    ['empty string', [0x50], ''],
    ['UTF-16 "é"', [0x61, 0x00, 0xe9], 'é'],
    ['UTF-16 "日本"', [0x62, 0x65, 0xe5, 0x67, 0x2c], '日本'],
    ['UTF-16 emoji (surrogate pair)', [0x62, 0xd8, 0x3d, 0xde, 0x00], '😀'],
    ['UID 5', [0x80, 0x05], uid(5)],
    ['UID 70000 (3 bytes)', [0x82, 0x01, 0x11, 0x70], uid(70000)],
    ['UID 2^32-1', [0x83, 0xff, 0xff, 0xff, 0xff], uid(0xffffffff)],
  ];
  for (const [name, obj, value] of scalars) {
    test(`decodes ${name}`, () => {
      assert.deepEqual(parseBinaryPlist(assemble([obj])), value);
    });
  }

  // What the encoder must produce for each value: the canonical smallest form.
  const encodings: [string, PlistValue, number[]][] = [
    ['0', 0, [0x10, 0x00]],
    ['42', 42, [0x10, 0x2a]],
    ['255', 255, [0x10, 0xff]],
    ['256', 256, [0x11, 0x01, 0x00]],
    ['65536', 65536, [0x12, 0x00, 0x01, 0x00, 0x00]],
    ['2^32-1', 4294967295, [0x12, 0xff, 0xff, 0xff, 0xff]],
    ['2^32', 4294967296, [0x13, 0, 0, 0, 0x01, 0, 0, 0, 0]],
    ['-1', -1, [0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ['-2^63', -9223372036854775808n, [0x13, 0x80, 0, 0, 0, 0, 0, 0, 0]],
    [
      '2^64-1 (16-byte form)',
      18446744073709551615n,
      [0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ],
    ['real(2) stays a real', real(2), [0x23, 0x40, 0, 0, 0, 0, 0, 0, 0]],
    ['plain number 1.5 as a real', 1.5, [0x23, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]],
    ['true', true, [0x09]],
    ['date 2020-01-02T03:04:05Z', new Date('2020-01-02T03:04:05Z'), [0x33, 0x41, 0xc1, 0xde, 0xca, 0x92, 0x80, 0, 0]],
    ['"é" as UTF-16BE', 'é', [0x61, 0x00, 0xe9]],
    ['emoji as a surrogate pair', '😀', [0x62, 0xd8, 0x3d, 0xde, 0x00]],
    ['UID 5', uid(5), [0x80, 0x05]],
    ['UID 70000', uid(70000), [0x82, 0x01, 0x11, 0x70]],
    ['data', Uint8Array.from([9, 8]), [0x42, 9, 8]],
  ];
  for (const [name, value, obj] of encodings) {
    test(`encodes ${name}`, () => {
      assert.equal(hex(serializeBinaryPlist(value)), hex(assemble([obj])));
    });
  }

  test('16-byte integers as libplist writes them', () => {
    const high0 = [0x14, 0, 0, 0, 0, 0, 0, 0, 0];
    const high1 = [0x14, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const minus13 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf3];
    // libplist writes the uint64 2^64-13 (a status code of -13) with the high 8 bytes zero.
    const code = parseBinaryPlist(assemble([[...high0, ...minus13]]));
    assert.equal(code, 18446744073709551603n);
    assert.equal(asSignedCode(code), -13);
    assert.equal(parseBinaryPlist(assemble([[...high0, 0, 0, 0, 0, 0, 0, 0, 42]])), 42);
    assert.equal(parseBinaryPlist(assemble([[...high1, ...minus13]])), -13);
  });

  test('array with a string, an int and a nested empty dict', () => {
    const bytes = assemble([[0xa3, 1, 2, 3], [0x51, 0x78], [0x10, 0x07], [0xd0]]);
    assert.deepEqual(parseBinaryPlist(bytes), ['x', 7, {}]);
    assert.equal(hex(serializeBinaryPlist(['x', 7, {}])), hex(bytes));
  });

  test('counts of 15 and more use a following integer object', () => {
    const items = Array.from({ length: 16 }, (_, i) => i);
    // array marker 0xaf, then count as int object 0x10 0x10, then 16 refs to objects 1..16
    const objects = [[0xaf, 0x10, 0x10, ...items.map((i) => i + 1)], ...items.map((i) => [0x10, i])];
    const bytes = assemble(objects);
    assert.deepEqual(parseBinaryPlist(bytes), items);
    assert.equal(hex(serializeBinaryPlist(items)), hex(bytes));
    const long = 'abcdefghijklmnopqrst'; // 20 chars: 0x5f 0x10 0x14
    assert.equal(parseBinaryPlist(assemble([[0x5f, 0x10, 0x14, ...Array.from(long, (c) => c.charCodeAt(0))]])), long);
  });

  test('an object referenced twice decodes in both places', () => {
    assert.deepEqual(
      parseBinaryPlist(
        assemble([
          [0xa2, 1, 1],
          [0x51, 0x78],
        ]),
      ),
      ['x', 'x'],
    );
    const shared = assemble([
      [0xa2, 1, 1],
      [0xa1, 2],
      [0x10, 3],
    ]);
    assert.deepEqual(parseBinaryPlist(shared), [[3], [3]]);
  });

  test('encoder writes equal strings once', () => {
    const bytes = serializeBinaryPlist([{ k: 'k' }, { k: 'k' }]);
    // objects: array, dict, "k", dict; 4 objects in the trailer
    assert.equal(bytes[bytes.length - 17], 4);
    assert.deepEqual(parseBinaryPlist(bytes), [{ k: 'k' }, { k: 'k' }]);
  });

  test('a "__proto__" key is kept as an own key', () => {
    const key = Array.from('__proto__', (c) => c.charCodeAt(0));
    const v = parseBinaryPlist(assemble([[0xd1, 1, 2], [0x59, ...key], [0x09]]));
    assert.deepEqual(Object.keys(v as object), ['__proto__']);
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    const back = parseBinaryPlist(serializeBinaryPlist(v));
    assert.deepEqual(Object.keys(back as object), ['__proto__']);
  });

  test('a large dict keeps every key, "__proto__" included, in order', () => {
    const v: Record<string, PlistValue> = {};
    for (let i = 0; i < 100; i++) v[`k${i}`] = i;
    Object.defineProperty(v, '__proto__', { value: 'own', enumerable: true, writable: true, configurable: true });
    const back = parseBinaryPlist(serializeBinaryPlist(v)) as Record<string, PlistValue>;
    assert.deepEqual(Object.keys(back), Object.keys(v));
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, 'own');
    assert.equal(back.k99, 99);
  });

  test('strings of every length around the native copy are ASCII (0x5) or UTF-16 (0x6) as they must be', () => {
    for (let n = 1; n <= 40; n++) {
      const ascii = 'a'.repeat(n);
      const bytes = serializeBinaryPlist(ascii);
      assert.equal(bytes[8]! >> 4, 0x5, `ASCII length ${n}`);
      assert.equal(parseBinaryPlist(bytes), ascii);
      for (const odd of ['é', '\u0100', '😀', '\ud800', '\u007f']) {
        const s = 'b'.repeat(n - 1) + odd;
        const enc = serializeBinaryPlist(s);
        assert.equal(enc[8]! >> 4, odd === '\u007f' ? 0x5 : 0x6, `length ${n} ending ${JSON.stringify(odd)}`);
        assert.equal(parseBinaryPlist(enc), s);
      }
    }
  });

  test('an ASCII-marked string with bytes above 0x7f decodes them as Latin-1, short or long', () => {
    for (const n of [3, 40]) {
      const body = [...Array.from({ length: n - 3 }, () => 0x61), 0xe9, 0x80, 0xff];
      const bytes = n < 15 ? assemble([[0x50 | n, ...body]]) : assemble([[0x5f, 0x10, n, ...body]]);
      assert.equal(parseBinaryPlist(bytes), 'a'.repeat(n - 3) + '\u00e9\u0080\u00ff');
    }
  });

  test('wide offsets and references round-trip (300 objects, 70 KB)', () => {
    const v = Array.from({ length: 300 }, (_, i) => `s${i}`.padEnd(230, 'x'));
    const bytes = serializeBinaryPlist(v);
    const t = bytes.length - 32;
    assert.equal(bytes[t + 6], 3, 'offset size'); // last offset is above 65535
    assert.equal(bytes[t + 7], 2, 'reference size'); // 301 objects
    assert.deepEqual(parseBinaryPlist(bytes), v);
  });

  test('encoder rejects values it cannot represent', () => {
    const cyclic: PlistValue[] = [];
    cyclic.push(cyclic);
    assert.throws(() => serializeBinaryPlist(cyclic), { name: 'IbackupError' });
    assert.throws(() => serializeBinaryPlist(2n ** 64n), { name: 'IbackupError' });
    assert.throws(() => serializeBinaryPlist(new Date(NaN)), { name: 'IbackupError' });
    assert.throws(() => serializeBinaryPlist(null as unknown as PlistValue), { name: 'IbackupError' });
  });

  // Speed is measured by `npm run bench:plist`, not here; this checks a 100k-entry dict round-trips.
  test('100k-entry dict round-trips', () => {
    const dict: Record<string, PlistValue> = {};
    for (let i = 0; i < 100_000; i++) dict[`key${i}`] = i % 2 === 0 ? i : `value${i}`;
    const back = parseBinaryPlist(serializeBinaryPlist(dict));
    assert.deepEqual(back, dict);
  });
});
