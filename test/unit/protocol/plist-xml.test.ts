/** XML plist codec against hand-written documents (Apple's plist DTD layout, tab indentation). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXmlPlist, serializeXmlPlist } from '../../../src/protocol/plist/xml.js';
import { isBinaryPlist, parsePlist } from '../../../src/protocol/plist/detect.js';
import { PlistReal, real, uid, type PlistValue } from '../../../src/protocol/plist/types.js';

const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
  '<plist version="1.0">\n';

function doc(body: string): string {
  return `${HEAD}${body}</plist>\n`;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('XML plist: decoding', () => {
  test('a dict with every scalar type', () => {
    const xml = doc(
      [
        '<dict>',
        '\t<key>s</key>',
        '\t<string>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233;&#x65E5;&#x1F600;</string>',
        '\t<key>i</key>',
        '\t<integer>-42</integer>',
        '\t<key>big</key>',
        '\t<integer>18446744073709551615</integer>',
        '\t<key>hex</key>',
        '\t<integer>0x1F</integer>',
        '\t<key>r</key>',
        '\t<real>2</real>',
        '\t<key>r2</key>',
        '\t<real>2.0</real>',
        '\t<key>r3</key>',
        '\t<real>-1.5e3</real>',
        '\t<key>t</key>',
        '\t<true/>',
        '\t<key>f</key>',
        '\t<false/>',
        '\t<key>d</key>',
        '\t<date>2020-01-02T03:04:05Z</date>',
        '\t<key>data</key>',
        '\t<data>',
        '\tAQID',
        '\tBA==',
        '\t</data>',
        '</dict>',
        '',
      ].join('\n'),
    );
    assert.deepEqual(parseXmlPlist(xml), {
      s: 'a & b <c> "d" \'e\' é日😀',
      i: -42,
      big: 18446744073709551615n,
      hex: 31,
      r: real(2),
      r2: real(2),
      r3: real(-1500),
      t: true,
      f: false,
      d: new Date('2020-01-02T03:04:05Z'),
      data: Uint8Array.from([1, 2, 3, 4]),
    });
  });

  test('special reals in the spellings of Apple, libplist and plistlib', () => {
    const reals = ['nan', 'NaN', '+infinity', 'inf', 'infinity', '-infinity', '-inf'];
    const got = reals.map((r) => (parseXmlPlist(doc(`<real>${r}</real>`)) as PlistReal).value);
    assert.deepEqual(got, [NaN, NaN, Infinity, Infinity, Infinity, -Infinity, -Infinity]);
  });

  test('empty forms', () => {
    assert.deepEqual(
      parseXmlPlist(doc('<array><array/><dict/><string/><data/><key/></array>').replace('<key/>', '<string></string>')),
      [[], {}, '', new Uint8Array(0), ''],
    );
    assert.deepEqual(parseXmlPlist(doc('<dict><key/><true/></dict>')), { '': true });
  });

  test('CF$UID dict is a UID; other shapes stay dicts', () => {
    assert.deepEqual(parseXmlPlist(doc('<dict><key>CF$UID</key><integer>70000</integer></dict>')), uid(70000));
    assert.deepEqual(parseXmlPlist(doc('<dict><key>CF$UID</key><string>1</string></dict>')), { CF$UID: '1' });
    assert.deepEqual(parseXmlPlist(doc('<dict><key>CF$UID</key><integer>1</integer><key>x</key><true/></dict>')), {
      CF$UID: 1,
      x: true,
    });
  });

  test('control characters are read as spaces; CRLF as LF; comments, CDATA and a bare root are accepted', () => {
    assert.equal(parseXmlPlist(doc('<string>a\u0001b\u001fc\td</string>')), 'a b c\td');
    assert.equal(parseXmlPlist(doc('<string>a\r\nb\rc</string>')), 'a\nb\nc');
    assert.equal(parseXmlPlist(doc('<!-- x --><string>a<!-- y --><![CDATA[<&>]]></string>')), 'a<&>');
    assert.equal(parseXmlPlist('<string>bare</string>'), 'bare');
    assert.deepEqual(
      parseXmlPlist('\uFEFF<?xml version="1.0"?>\r\n<plist><array>\r\n<integer> 7 </integer></array></plist>'),
      [7],
    );
  });

  test('integers: safe ones are numbers, others bigints', () => {
    assert.equal(parseXmlPlist(doc('<integer>9007199254740991</integer>')), 9007199254740991);
    assert.equal(parseXmlPlist(doc('<integer>9007199254740993</integer>')), 9007199254740993n);
    assert.equal(parseXmlPlist(doc('<integer>-9223372036854775808</integer>')), -9223372036854775808n);
    assert.equal(parseXmlPlist(doc('<integer>+5</integer>')), 5);
  });

  test('a "__proto__" key is kept as an own key', () => {
    const v = parseXmlPlist(doc('<dict><key>__proto__</key><integer>1</integer></dict>'));
    assert.deepEqual(Object.keys(v as object), ['__proto__']);
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
  });

  test('parsePlist dispatches on the magic', () => {
    assert.equal(isBinaryPlist(new TextEncoder().encode('bplist00xyz')), true);
    assert.equal(isBinaryPlist(new TextEncoder().encode('bplist15xyz')), false);
    assert.equal(isBinaryPlist(new TextEncoder().encode('<?xml')), false);
    assert.deepEqual(parsePlist(new TextEncoder().encode(doc('<array/>'))), []);
    assert.throws(() => parsePlist(new TextEncoder().encode('bplist15.....')), { name: 'IbackupError' });
  });
});

describe('XML plist: encoding', () => {
  test('the exact layout of a small dict', () => {
    const v: PlistValue = {
      s: 'a&<>"\'é',
      n: [1, -2, 18446744073709551615n],
      r: [real(2), real(1.5), real(NaN), real(Infinity), real(-Infinity), 0.25],
      b: [true, false],
      d: new Date('2020-01-02T03:04:05.678Z'),
      x: Uint8Array.from([1, 2, 3, 4]),
      u: uid(5),
      e: [[], {}, '', new Uint8Array(0)],
    };
    const expected = doc(
      [
        '<dict>',
        '\t<key>s</key>',
        '\t<string>a&amp;&lt;&gt;"\'é</string>',
        '\t<key>n</key>',
        '\t<array>',
        '\t\t<integer>1</integer>',
        '\t\t<integer>-2</integer>',
        '\t\t<integer>18446744073709551615</integer>',
        '\t</array>',
        '\t<key>r</key>',
        '\t<array>',
        '\t\t<real>2</real>',
        '\t\t<real>1.5</real>',
        '\t\t<real>nan</real>',
        '\t\t<real>+infinity</real>',
        '\t\t<real>-infinity</real>',
        '\t\t<real>0.25</real>',
        '\t</array>',
        '\t<key>b</key>',
        '\t<array>',
        '\t\t<true/>',
        '\t\t<false/>',
        '\t</array>',
        '\t<key>d</key>',
        '\t<date>2020-01-02T03:04:05Z</date>',
        '\t<key>x</key>',
        '\t<data>',
        '\tAQIDBA==',
        '\t</data>',
        '\t<key>u</key>',
        '\t<dict>',
        '\t\t<key>CF$UID</key>',
        '\t\t<integer>5</integer>',
        '\t</dict>',
        '\t<key>e</key>',
        '\t<array>',
        '\t\t<array/>',
        '\t\t<dict/>',
        '\t\t<string></string>',
        '\t\t<data>',
        '\t\t</data>',
        '\t</array>',
        '</dict>',
        '',
      ].join('\n'),
    );
    assert.equal(text(serializeXmlPlist(v)), expected);
  });

  test('base64 lines are 76 columns less 8 per tab', () => {
    const data = new Uint8Array(60).fill(0xff); // 80 base64 characters
    const lines = text(serializeXmlPlist([data])).split('\n');
    const i = lines.indexOf('\t<data>');
    assert.equal(lines[i + 1], `\t${'/'.repeat(68)}`);
    assert.equal(lines[i + 2], `\t${'/'.repeat(12)}`);
  });

  test('control characters and CR survive a round trip as character references', () => {
    const s = 'a\u0001b\rc\u001f';
    assert.match(text(serializeXmlPlist(s)), /<string>a&#1;b&#13;c&#31;<\/string>/);
    assert.equal(parseXmlPlist(serializeXmlPlist(s)), s);
  });

  test('whole reals stay reals and -0 keeps its sign', () => {
    assert.deepEqual(parseXmlPlist(serializeXmlPlist([real(2), real(-0), real(1e21), real(5e-324)])), [
      real(2),
      real(-0),
      real(1e21),
      real(5e-324),
    ]);
  });

  test('rejects values it cannot represent', () => {
    const cyclic: PlistValue[] = [];
    cyclic.push([cyclic]);
    assert.throws(() => serializeXmlPlist(cyclic), { name: 'IbackupError' });
    assert.throws(() => serializeXmlPlist(new Date('+012345-01-01T00:00:00Z')), { name: 'IbackupError' });
    assert.throws(() => serializeXmlPlist(undefined as unknown as PlistValue), { name: 'IbackupError' });
  });

  // Speed is measured by `npm run bench:plist`, not here.
  test('100k-entry dict round-trips', () => {
    const dict: Record<string, PlistValue> = {};
    for (let i = 0; i < 100_000; i++) dict[`key${i}`] = i % 2 === 0 ? i : `value ${i} & more`;
    const back = parseXmlPlist(serializeXmlPlist(dict));
    assert.deepEqual(back, dict);
  });
});
