/**
 * Property tests: any canonical plist value round-trips through the binary and the XML codec
 * (decode(encode(v)) deep-equals v). UIDs only in binary (XML writes them as CF$UID dicts);
 * XML dates are whole seconds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseBinaryPlist, serializeBinaryPlist } from '../../../src/protocol/plist/binary.js';
import { parseXmlPlist, serializeXmlPlist } from '../../../src/protocol/plist/xml.js';
import { parsePlist } from '../../../src/protocol/plist/detect.js';
import { real, uid, type PlistValue } from '../../../src/protocol/plist/types.js';

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years XML dates can spell. */
const YEAR_0_MS = -62167219200000;
const YEAR_9999_END_MS = 253402300799000;

interface Options {
  uids: boolean;
  xml: boolean;
}

/** Every code unit, lone surrogates included (binary plists carry UTF-16 as is). */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

function plistValue(opts: Options): fc.Arbitrary<PlistValue> {
  const strings = opts.xml
    ? fc.oneof(fc.string(), fc.string({ unit: 'binary' }))
    : fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: anyCodeUnit }));
  const ints = fc.oneof(
    fc.integer({ min: -300, max: 70000 }),
    fc.maxSafeInteger(),
    fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
    fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) }),
  );
  const reals = fc.double({ noNaN: true, noDefaultInfinity: true }).map(real);
  const dates = opts.xml
    ? fc.integer({ min: YEAR_0_MS / 1000, max: YEAR_9999_END_MS / 1000 }).map((s) => new Date(s * 1000))
    : fc.integer({ min: YEAR_0_MS, max: YEAR_9999_END_MS + 999 }).map((ms) => new Date(ms));
  const scalars: fc.Arbitrary<PlistValue>[] = [
    strings,
    ints,
    reals,
    dates,
    fc.boolean(),
    fc.uint8Array({ maxLength: 80 }),
  ];
  if (opts.uids) scalars.push(fc.integer({ min: 0, max: 0xffffffff }).map(uid));
  const { value } = fc.letrec<{ value: PlistValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(...scalars),
      fc.array(tie('value'), { maxLength: 6 }),
      fc.dictionary(strings, tie('value'), { maxKeys: 6, noNullPrototype: true }),
    ),
  }));
  return value;
}

describe('plist round-trip properties', () => {
  test('binary: decode(encode(v)) deep-equals v', () => {
    fc.assert(
      fc.property(plistValue({ uids: true, xml: false }), (v) => {
        const bytes = serializeBinaryPlist(v);
        assert.deepStrictEqual(parseBinaryPlist(bytes), v);
        assert.deepStrictEqual(parsePlist(bytes), v);
      }),
      { numRuns: 400 },
    );
  });

  test('XML: decode(encode(v)) deep-equals v', () => {
    fc.assert(
      fc.property(plistValue({ uids: false, xml: true }), (v) => {
        const bytes = serializeXmlPlist(v);
        assert.deepStrictEqual(parseXmlPlist(bytes), v);
        assert.deepStrictEqual(parsePlist(bytes), v);
      }),
      { numRuns: 400 },
    );
  });

  test('binary and XML agree: XML(decoded binary) round-trips to the same value', () => {
    fc.assert(
      fc.property(plistValue({ uids: false, xml: true }), (v) => {
        const viaBinary = parseBinaryPlist(serializeBinaryPlist(v));
        assert.deepStrictEqual(parseXmlPlist(serializeXmlPlist(viaBinary)), v);
      }),
      { numRuns: 200 },
    );
  });
});
