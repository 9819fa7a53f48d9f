import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildClassWrappedKey,
  buildKeybag,
  parseClassWrappedKey,
  parseKeybag,
  MAX_KEYBAG_BYTES,
} from '../../../src/protocol/keybag.js';
import type { Keybag, KeybagClassKey } from '../../../src/protocol/keybag.js';
import { aesUnwrap, deriveKek } from '../../../src/protocol/crypto.js';
import { hasCode, isIbackupError } from '../../../src/errors.js';

const hex = (s: string): Uint8Array =>
  Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (b) => parseInt(b, 16));
const isDecode = (e: unknown): boolean => hasCode(e, 'PROTOCOL_DECODE');

/** Test-only TLV writer: 4 ASCII tag bytes, BE u32 length, value (hex). */
function tlv(tag: string, valueHex: string): string {
  const v = valueHex.replace(/\s+/g, '');
  const tagHex = Array.from(tag, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  return tagHex + (v.length / 2).toString(16).padStart(8, '0') + v;
}
const u32hex = (n: number): string => n.toString(16).padStart(8, '0');

const KB_UUID = '00112233445566778899aabbccddeeff';
const SALT = '2721336781705041205314422175267631184867';
const DPSL = '99fafc983e732998adb9fadc162a2e382143f115';
const WPKY = '17a3b858e79bc273be43a9f113b71efe7ec8e7e401396b350180b4592ef45db67ffef7b2d64329a5';
const CLASS_UUID = (c: number): string =>
  'c1a55000000000000000000000000000'.slice(0, 30) + c.toString(16).padStart(2, '0');

const HEADER =
  tlv('VERS', u32hex(5)) +
  tlv('TYPE', u32hex(1)) +
  tlv('UUID', KB_UUID) +
  tlv('HMCK', '00'.repeat(40)) +
  tlv('WRAP', u32hex(0)) +
  tlv('SALT', SALT) +
  tlv('ITER', u32hex(10000)) +
  tlv('DPWT', u32hex(1)) +
  tlv('DPIC', u32hex(1000)) +
  tlv('DPSL', DPSL);

function classBlock(c: number, wrap: number, wpky = WPKY): string {
  return (
    tlv('UUID', CLASS_UUID(c)) +
    tlv('CLAS', u32hex(c)) +
    tlv('WRAP', u32hex(wrap)) +
    tlv('KTYP', u32hex(0)) +
    tlv('WPKY', wpky)
  );
}

/** A modern backup keybag, classes 11 down to 1 (WRAP 3 for 5, 9, 10, 11). */
const MODERN = hex(
  HEADER + [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((c) => classBlock(c, [5, 9, 10, 11].includes(c) ? 3 : 2)).join(''),
);

describe('parseKeybag', () => {
  test('reads header and class blocks of a hand-written modern keybag', () => {
    const k = parseKeybag(MODERN);
    assert.equal(k.version, 5);
    assert.equal(k.type, 1);
    assert.deepEqual(k.uuid, hex(KB_UUID));
    assert.deepEqual(k.hmck, new Uint8Array(40));
    assert.equal(k.wrap, 0);
    assert.deepEqual(k.salt, hex(SALT));
    assert.equal(k.iterations, 10000);
    assert.equal(k.dpwt, 1);
    assert.equal(k.dpic, 1000);
    assert.deepEqual(k.dpsl, hex(DPSL));
    assert.deepEqual(k.unknown, []);
    assert.deepEqual(
      k.classKeys.map((c) => [c.protectionClass, c.wrap, c.keyType]),
      [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((c) => [c, [5, 9, 10, 11].includes(c) ? 3 : 2, 0]),
    );
    const c4 = k.classKeys.find((c) => c.protectionClass === 4);
    assert.ok(c4);
    assert.deepEqual(c4.uuid, hex(CLASS_UUID(4)));
    assert.deepEqual(c4.wrappedKey, hex(WPKY));
    assert.equal(c4.publicKey, undefined);
  });

  test('the parsed keybag opens with the hashcat password (DPIC 1000)', () => {
    const k = parseKeybag(MODERN);
    const kek = deriveKek('hashcat', k);
    const c1 = k.classKeys.find((c) => c.protectionClass === 1);
    assert.ok(c1);
    const key = aesUnwrap(kek, c1.wrappedKey);
    assert.deepEqual(key, hex('2ed7042e87b50000fa6ba698661c000013194470a1f70000c35bd72ce0360000'));
  });

  test('an iOS 9 keybag has no DPWT/DPIC/DPSL', () => {
    const bytes = hex(
      tlv('VERS', u32hex(3)) +
        tlv('TYPE', u32hex(1)) +
        tlv('UUID', KB_UUID) +
        tlv('HMCK', '00'.repeat(40)) +
        tlv('WRAP', u32hex(0)) +
        tlv('SALT', SALT) +
        tlv('ITER', u32hex(10000)) +
        classBlock(1, 2),
    );
    const k = parseKeybag(bytes);
    assert.equal(k.version, 3);
    assert.equal(k.dpic, undefined);
    assert.equal(k.dpsl, undefined);
    assert.equal(k.dpwt, undefined);
    assert.equal(k.classKeys.length, 1);
    assert.deepEqual(buildKeybag(k), bytes);
  });

  test('a keybag with no class blocks parses', () => {
    assert.deepEqual(parseKeybag(hex(HEADER)).classKeys, []);
  });
});

describe('buildKeybag', () => {
  test('round-trips the hand-written keybag byte for byte', () => {
    assert.deepEqual(buildKeybag(parseKeybag(MODERN)), MODERN);
  });

  test('writes a keybag built from fields in the canonical order', () => {
    const classKey = (c: number): KeybagClassKey => ({
      uuid: hex(CLASS_UUID(c)),
      protectionClass: c,
      wrap: [5, 9, 10, 11].includes(c) ? 3 : 2,
      keyType: 0,
      wrappedKey: hex(WPKY),
      unknown: [],
    });
    const k: Keybag = {
      version: 5,
      type: 1,
      uuid: hex(KB_UUID),
      hmck: new Uint8Array(40),
      wrap: 0,
      salt: hex(SALT),
      iterations: 10000,
      dpwt: 1,
      dpic: 1000,
      dpsl: hex(DPSL),
      classKeys: [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map(classKey),
      unknown: [],
    };
    assert.deepEqual(buildKeybag(k), MODERN);
  });

  test('unknown tags, PBKY and a non-canonical order survive a round trip', () => {
    const bytes = hex(
      tlv('TYPE', u32hex(0x40000001)) +
        tlv('VERS', u32hex(4)) +
        tlv('XTRA', 'abcdef') +
        tlv('UUID', KB_UUID) +
        tlv('SALT', SALT) +
        tlv('WRAP', u32hex(0)) +
        tlv('ITER', u32hex(10000)) +
        tlv('XTRA', '') +
        tlv('UUID', CLASS_UUID(2)) +
        tlv('WPKY', WPKY) +
        tlv('CLAS', u32hex(2)) +
        tlv('NEWT', '01') +
        tlv('WRAP', u32hex(2)) +
        tlv('PBKY', '11'.repeat(32)),
    );
    const k = parseKeybag(bytes);
    assert.equal(k.type, 0x40000001);
    assert.deepEqual(k.unknown, [
      { tag: 'XTRA', value: hex('abcdef') },
      { tag: 'XTRA', value: new Uint8Array() },
    ]);
    const c = k.classKeys[0];
    assert.ok(c);
    assert.equal(c.keyType, undefined);
    assert.deepEqual(c.publicKey, hex('11'.repeat(32)));
    assert.deepEqual(c.unknown, [{ tag: 'NEWT', value: hex('01') }]);
    assert.deepEqual(buildKeybag(k), bytes);
  });

  test('fields set after parsing are written even when absent from the parsed order', () => {
    const bytes = hex(
      tlv('VERS', u32hex(3)) +
        tlv('TYPE', u32hex(1)) +
        tlv('UUID', KB_UUID) +
        tlv('WRAP', u32hex(0)) +
        tlv('SALT', SALT) +
        tlv('ITER', u32hex(10000)),
    );
    const k = parseKeybag(bytes);
    k.dpic = 1000;
    k.dpsl = hex(DPSL);
    const again = parseKeybag(buildKeybag(k));
    assert.equal(again.dpic, 1000);
    assert.deepEqual(again.dpsl, hex(DPSL));
  });

  test('values a keybag cannot hold are refused with INTERNAL', () => {
    const k = parseKeybag(MODERN);
    const isInternal = (e: unknown): boolean => hasCode(e, 'INTERNAL');
    assert.throws(() => buildKeybag({ ...k, version: -1 }), isInternal);
    assert.throws(() => buildKeybag({ ...k, iterations: 2 ** 32 }), isInternal);
    assert.throws(() => buildKeybag({ ...k, unknown: [{ tag: 'AB', value: new Uint8Array() }] }), isInternal);
  });

  test('parse(build(k)) keeps every field (property)', () => {
    const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const cls = fc.record({
      uuid: bytesOf(16),
      protectionClass: u32,
      wrap: u32,
      keyType: fc.option(u32, { nil: undefined }),
      wrappedKey: fc.uint8Array({ maxLength: 48 }),
    });
    const kb = fc.record({
      version: u32,
      type: u32,
      uuid: bytesOf(16),
      wrap: u32,
      salt: fc.uint8Array({ maxLength: 32 }),
      iterations: u32,
      dpic: fc.option(u32, { nil: undefined }),
      classKeys: fc.array(cls, { maxLength: 5 }),
    });
    fc.assert(
      fc.property(kb, (raw) => {
        const k: Keybag = {
          ...raw,
          unknown: [],
          classKeys: raw.classKeys.map((c) => ({ ...c, unknown: [] })),
        };
        const bytes = buildKeybag(k);
        const p = parseKeybag(bytes);
        assert.equal(p.version, k.version);
        assert.equal(p.type, k.type);
        assert.equal(p.iterations, k.iterations);
        assert.equal(p.dpic, k.dpic);
        assert.deepEqual(p.salt, k.salt);
        assert.deepEqual(
          p.classKeys.map((c) => [c.uuid, c.protectionClass, c.wrap, c.keyType, c.wrappedKey]),
          k.classKeys.map((c) => [c.uuid, c.protectionClass, c.wrap, c.keyType, c.wrappedKey]),
        );
        assert.deepEqual(buildKeybag(p), bytes);
      }),
      { numRuns: 100 },
    );
  });
});

describe('malformed keybags throw PROTOCOL_DECODE', () => {
  const cases: Array<[string, string]> = [
    ['length past the end', tlv('VERS', u32hex(5)).slice(0, -2)],
    ['huge declared length', '56455253ffffffff00000005'],
    ['half a record header', HEADER + '5555'],
    ['non-ASCII tag', HEADER + '00ff0000' + '00000000'],
    ['VERS of 3 bytes', HEADER.replace(tlv('VERS', u32hex(5)), tlv('VERS', '000005'))],
    ['repeated SALT', HEADER + tlv('SALT', SALT)],
    ['missing UUID', HEADER.replace(tlv('UUID', KB_UUID), '')],
    ['missing ITER', HEADER.replace(tlv('ITER', u32hex(10000)), '')],
    ['keybag UUID of 15 bytes', HEADER.replace(tlv('UUID', KB_UUID), tlv('UUID', KB_UUID.slice(2)))],
    [
      'class UUID of 8 bytes',
      HEADER + tlv('UUID', '00'.repeat(8)) + tlv('CLAS', u32hex(1)) + tlv('WRAP', u32hex(2)) + tlv('WPKY', WPKY),
    ],
    ['class without WPKY', HEADER + tlv('UUID', CLASS_UUID(1)) + tlv('CLAS', u32hex(1)) + tlv('WRAP', u32hex(2))],
    ['class without CLAS', HEADER + tlv('UUID', CLASS_UUID(1)) + tlv('WRAP', u32hex(2)) + tlv('WPKY', WPKY)],
    ['empty input', ''],
  ];
  for (const [name, h] of cases) {
    test(name, () => assert.throws(() => parseKeybag(hex(h)), isDecode));
  }

  test('oversize input is refused before parsing', () => {
    assert.throws(() => parseKeybag(new Uint8Array(MAX_KEYBAG_BYTES + 1)), isDecode);
  });

  test('every truncation either parses or throws PROTOCOL_DECODE', () => {
    for (let n = 0; n < MODERN.length; n++) {
      try {
        parseKeybag(MODERN.subarray(0, n));
      } catch (e) {
        assert.ok(isIbackupError(e) && e.code === 'PROTOCOL_DECODE', `prefix ${n}: ${String(e)}`);
      }
    }
  });

  test('random bytes never escape as anything but PROTOCOL_DECODE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          parseKeybag(b);
        } catch (e) {
          assert.ok(isDecode(e), String(e));
        }
      }),
    );
  });
});

describe('class-prefixed wrapped keys (EncryptionKey, ManifestKey)', () => {
  test('splits LE u32 class and 40-byte wrapped key', () => {
    const bytes = hex('04000000' + WPKY);
    const k = parseClassWrappedKey(bytes);
    assert.equal(k.protectionClass, 4);
    assert.deepEqual(k.wrappedKey, hex(WPKY));
    assert.deepEqual(buildClassWrappedKey(k), bytes);
    assert.deepEqual(buildClassWrappedKey({ protectionClass: 0x0302, wrappedKey: hex(WPKY) }), hex('02030000' + WPKY));
  });

  test('a length other than 44 throws PROTOCOL_DECODE', () => {
    for (const n of [0, 4, 43, 45]) {
      assert.throws(() => parseClassWrappedKey(new Uint8Array(n)), isDecode);
    }
  });
});
