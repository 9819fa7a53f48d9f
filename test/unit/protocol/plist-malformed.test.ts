/**
 * Malformed and hostile plists: every one must end in IbackupError PROTOCOL_DECODE, quickly,
 * never a RangeError/TypeError, a hang or a stack overflow.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hasCode } from '../../../src/errors.js';
import { parseBinaryPlist } from '../../../src/protocol/plist/binary.js';
import { parseXmlPlist } from '../../../src/protocol/plist/xml.js';
import { parsePlist } from '../../../src/protocol/plist/detect.js';
import type { PlistLimits } from '../../../src/protocol/plist/limits.js';
import { assemble, be, withTrailer } from '../../support/plist-fixtures.js';

/** A decode error, and in bounded time: a hang or quadratic blow-up would take minutes. */
function rejects(fn: () => unknown, what: string, maxMs = 10_000): void {
  const start = performance.now();
  assert.throws(fn, (e: unknown) => hasCode(e, 'PROTOCOL_DECODE'), what);
  const ms = performance.now() - start;
  assert.ok(ms < maxMs, `${what}: took ${ms.toFixed(0)} ms`);
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

// {"k": [1, "x", true, 2.0], "d": data(3)} assembled by hand.
const SAMPLE = assemble([
  [0xd2, 1, 2, 3, 4], // 0: dict, keys 1 2, values 3 4
  [0x51, ...ascii('k')], // 1
  [0x51, ...ascii('d')], // 2
  [0xa4, 5, 6, 7, 8], // 3: array of 5 6 7 8
  [0x43, 1, 2, 3], // 4: data
  [0x10, 0x01], // 5
  [0x51, ...ascii('x')], // 6
  [0x09], // 7
  [0x23, 0x40, 0, 0, 0, 0, 0, 0, 0], // 8
]);

describe('binary plist: malformed input', () => {
  test('the sample itself is valid', () => {
    assert.equal(Object.keys(parseBinaryPlist(SAMPLE) as object).length, 2);
  });

  test('truncated at every length', () => {
    for (let n = 0; n < SAMPLE.length; n++) rejects(() => parseBinaryPlist(SAMPLE.subarray(0, n)), `length ${n}`);
  });

  test('bad magic', () => {
    const bad = SAMPLE.slice();
    bad[7] = 0x31; // "bplist01"
    rejects(() => parseBinaryPlist(bad), 'bplist01');
    rejects(() => parsePlist(bad), 'bplist01 via parsePlist');
  });

  test('bad trailer values', () => {
    const cases: [string, Parameters<typeof withTrailer>[1]][] = [
      ['offset size 0', { offsetSize: 0 }],
      ['offset size 9', { offsetSize: 9 }],
      ['ref size 0', { refSize: 0 }],
      ['ref size 9', { refSize: 9 }],
      ['no objects', { numObjects: 0n }],
      ['2^63 objects', { numObjects: 2n ** 63n }],
      ['2^64-1 objects', { numObjects: 2n ** 64n - 1n }],
      ['more objects than the table holds', { numObjects: 10n }],
      ['top object out of range', { top: 9n }],
      ['top object 2^64-1', { top: 2n ** 64n - 1n }],
      ['offset table inside the header', { tableStart: 3n }],
      ['offset table past the end', { tableStart: BigInt(SAMPLE.length) }],
      ['offset table at 2^64-1', { tableStart: 2n ** 64n - 1n }],
    ];
    for (const [what, fields] of cases) rejects(() => parseBinaryPlist(withTrailer(SAMPLE, fields)), what);
  });

  test('too many objects for the limits', () => {
    rejects(() => parseBinaryPlist(SAMPLE, { maxObjects: 5 }), 'maxObjects 5');
  });

  test('offset table entries out of range', () => {
    for (const off of [0, 7, SAMPLE.length - 32, 0xff]) {
      const bad = SAMPLE.slice();
      const tableStart = SAMPLE.length - 32 - 9;
      bad[tableStart + 5] = off; // object 5 (the integer 1)
      rejects(() => parseBinaryPlist(bad), `offset ${off}`);
    }
  });

  test('reference to a nonexistent object', () => {
    rejects(() => parseBinaryPlist(assemble([[0xa1, 5], [0x09]])), 'array ref 5 of 2');
    rejects(() => parseBinaryPlist(assemble([[0xd1, 9, 1], [0x09]])), 'dict key ref 9 of 2');
  });

  test('reference cycles', () => {
    rejects(() => parseBinaryPlist(assemble([[0xa1, 0]])), 'array containing itself');
    rejects(
      () =>
        parseBinaryPlist(
          assemble([
            [0xa1, 1],
            [0xa1, 2],
            [0xa1, 0],
          ]),
        ),
      'indirect cycle',
    );
    rejects(
      () =>
        parseBinaryPlist(
          assemble([
            [0xd1, 1, 0],
            [0x51, ...ascii('a')],
          ]),
        ),
      'dict containing itself',
    );
    rejects(() => parseBinaryPlist(assemble([[0xd1, 0, 1], [0x09]])), 'dict keyed by itself');
  });

  test('100 000 nested arrays', () => {
    const n = 100_000;
    const objects = Array.from({ length: n }, (_, i) => (i < n - 1 ? [0xa1, ...be(i + 1, 3)] : [0xa0]));
    const bytes = assemble(objects, { offsetSize: 3, refSize: 3 });
    rejects(() => parseBinaryPlist(bytes), 'deep nesting');
    assert.deepEqual(parseBinaryPlist(assemble([[0xa1, 1], [0xa1, 2], [0xa0]]), { maxDepth: 3 }), [[[]]]);
    rejects(() => parseBinaryPlist(assemble([[0xa1, 1], [0xa1, 2], [0xa0]]), { maxDepth: 2 }), 'maxDepth 2');
  });

  test('a small file describing an exponentially large tree (shared references)', () => {
    // Object i is [i+1, i+1]: 60 levels expand to 2^60 leaves.
    const objects = Array.from({ length: 60 }, (_, i) => [0xa2, i + 1, i + 1]);
    objects.push([0x09]);
    rejects(() => parseBinaryPlist(assemble(objects)), 'doubling DAG');
    // Depth through shared objects counts too: 0 -> 1 -> 2, and 0 -> 2 directly.
    const limits: Partial<PlistLimits> = { maxDepth: 2 };
    rejects(() => parseBinaryPlist(assemble([[0xa2, 2, 1], [0xa1, 2], [0xa1, 3], [0x09]]), limits), 'shared depth');
  });

  test('huge declared lengths fail fast', () => {
    const big = [0x13, ...be(2 ** 40, 8)];
    for (const marker of [0x4f, 0x5f, 0x6f, 0xaf, 0xdf]) {
      rejects(() => parseBinaryPlist(assemble([[marker, ...big]])), `marker ${marker.toString(16)} length 2^40`, 5_000);
    }
    rejects(
      () => parseBinaryPlist(assemble([[0x5f, 0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]])),
      'length -1',
    );
    rejects(() => parseBinaryPlist(assemble([[0x5f, 0x51, 0x61]])), 'length not an integer');
    rejects(
      () => parseBinaryPlist(assemble([[0x5f, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]])),
      '16-byte length',
    );
    rejects(() => parseBinaryPlist(assemble([[0x55, 0x61]])), 'string longer than the data');
    rejects(() => parseBinaryPlist(assemble([[0x62, 0x00, 0x61]])), 'UTF-16 string longer than the data');
    rejects(() => parseBinaryPlist(assemble([[0xa3, 0]])), 'array longer than the data');
  });

  test('unsupported or invalid objects', () => {
    const cases: [string, number[][]][] = [
      ['null', [[0x00]]],
      ['fill', [[0x0f]]],
      ['32-byte integer', [[0x15, ...new Array<number>(32).fill(0)]]],
      ['2-byte real', [[0x21, 0, 0]]],
      ['4-byte date', [[0x32, 0, 0, 0, 0]]],
      ['infinite date', [[0x33, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0]]],
      ['5-byte UID', [[0x84, 1, 0, 0, 0, 0]]],
      ['set', [[0xc1, 1], [0x09]]],
      ['type 0x7', [[0x71, 0x61]]],
      ['type 0xf', [[0xf0]]],
      [
        'integer key',
        [
          [0xd1, 1, 2],
          [0x10, 1],
          [0x10, 2],
        ],
      ],
      ['array key', [[0xd1, 1, 2], [0xa0], [0x10, 2]]],
    ];
    for (const [what, objects] of cases) rejects(() => parseBinaryPlist(assemble(objects)), what);
  });

  test('random corruption never escapes as another error type', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: SAMPLE.length - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 6 }),
        (edits) => {
          const bad = SAMPLE.slice();
          for (const [i, b] of edits) bad[i] = b;
          try {
            parseBinaryPlist(bad);
          } catch (e) {
            assert.ok(hasCode(e, 'PROTOCOL_DECODE'), String(e));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('XML plist: malformed input', () => {
  const bad: [string, string][] = [
    ['empty', ''],
    ['whitespace only', ' \n\t'],
    ['plain text', 'hello'],
    ['a lone <', '<'],
    ['angle soup', '<<>>'],
    ['text after the value', '<plist><true/></plist>junk'],
    ['two values in plist', '<plist><true/><false/></plist>'],
    ['empty plist', '<plist></plist>'],
    ['self-closed plist', '<plist/>'],
    ['unclosed plist', '<plist><true/>'],
    ['unclosed array', '<plist><array><string>a</string></plist>'],
    ['unclosed dict at the end', '<plist><dict><key>a</key>'],
    ['unclosed string', '<string>abc'],
    ['unclosed comment', '<plist><!-- <true/></plist>'],
    ['unclosed CDATA', '<string><![CDATA[abc</string>'],
    ['mismatched end tag', '<array></dict>'],
    ['stray end tag', '</array>'],
    ['element inside a string', '<string>a<b/></string>'],
    ['unknown element', '<foo/>'],
    ['key at the root', '<key>a</key>'],
    ['key in an array', '<array><key>a</key></array>'],
    ['two keys in a row', '<dict><key>a</key><key>b</key><true/></dict>'],
    ['key without a value', '<dict><key>a</key></dict>'],
    ['value without a key', '<dict><true/></dict>'],
    ['text between elements', '<array>x<true/></array>'],
    ['content in <true>', '<true>yes</true>'],
    ['bad base64 character', '<data>@@@@</data>'],
    ['truncated base64', '<data>QUJDR</data>'],
    ['base64 data after padding', '<data>QQ==QQ==</data>'],
    ['integer with letters', '<integer>12a</integer>'],
    ['empty integer', '<integer></integer>'],
    ['self-closed integer', '<integer/>'],
    ['fractional integer', '<integer>1.5</integer>'],
    ['huge integer text', `<integer>${'9'.repeat(5000)}</integer>`],
    ['real that is not a number', '<real>abc</real>'],
    ['real with two points', '<real>1.2.3</real>'],
    ['date out of range', '<date>2020-13-01T00:00:00Z</date>'],
    ['date without Z', '<date>2020-01-01T00:00:00</date>'],
    ['date in words', '<date>yesterday</date>'],
    ['unknown entity', '<string>&foo;</string>'],
    ['bare ampersand', '<string>a & b</string>'],
    ['entity out of range', '<string>&#x110000;</string>'],
    ['malformed end tag', '<string>a</string x>'],
    ['unterminated tag', '<string'],
    ['binary junk', '\u0000\u0001\u0002bplist'],
  ];
  for (const [what, xml] of bad) {
    test(what, () => rejects(() => parseXmlPlist(xml), what));
  }

  test('100 000 nested arrays', () => {
    const xml = `<plist>${'<array>'.repeat(100_000)}${'</array>'.repeat(100_000)}</plist>`;
    rejects(() => parseXmlPlist(xml), 'deep nesting');
    assert.deepEqual(parseXmlPlist('<array><array/></array>', { maxDepth: 1 }), [[]]);
    rejects(() => parseXmlPlist('<array><array><true/></array></array>', { maxDepth: 1 }), 'maxDepth 1');
  });

  test('many DOCTYPEs and comments stay linear', () => {
    const xml = `<array>${'<!DOCTYPE x><!-- c --><true/>'.repeat(100_000)}</array>`;
    const start = performance.now();
    assert.equal((parseXmlPlist(xml) as unknown[]).length, 100_000);
    assert.ok(performance.now() - start < 15_000, 'linear, not quadratic');
    assert.deepEqual(parseXmlPlist('<!DOCTYPE plist [ <!ENTITY x "a>b"> ]><plist><true/></plist>'), true);
    rejects(() => parseXmlPlist('<!DOCTYPE plist'), 'unclosed DOCTYPE');
  });

  test('too many elements for the limits', () => {
    rejects(() => parseXmlPlist(`<array>${'<true/>'.repeat(10)}</array>`, { maxObjects: 5 }), 'maxObjects 5');
  });

  test('truncated at every length: an error, or the whole value once </plist> is in', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n\t<key>a</key>\n\t<array>\n' +
      '\t\t<integer>1</integer>\n\t\t<data>AQID</data>\n\t\t<real>2</real>\n\t</array>\n</dict>\n</plist>\n';
    const full = parseXmlPlist(xml);
    const end = xml.indexOf('</plist>') + '</plist>'.length;
    for (let n = 0; n < xml.length; n++) {
      const prefix = xml.slice(0, n);
      if (n >= end) assert.deepEqual(parseXmlPlist(prefix), full);
      else rejects(() => parseXmlPlist(prefix), `length ${n}`);
    }
  });

  test('random text never escapes as another error type', () => {
    const pieces = fc.constantFrom(
      '<',
      '>',
      '/',
      'plist',
      'array',
      'dict',
      'key',
      'string',
      'integer',
      'data',
      '&',
      ';',
      'a',
      '1',
      ' ',
      '<!--',
      '-->',
      '<![CDATA[',
      ']]>',
      '"',
      '=',
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 40 }), (parts) => {
        try {
          parseXmlPlist(parts.join(''));
        } catch (e) {
          assert.ok(hasCode(e, 'PROTOCOL_DECODE'), String(e));
        }
      }),
      { numRuns: 3000 },
    );
  });
});
