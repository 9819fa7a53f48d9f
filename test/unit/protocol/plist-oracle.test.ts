/**
 * Interop with independent plist implementations run as subprocesses: Python's plistlib and
 * libplist's plistutil. Both directions: their files parsed by us, our files parsed by them.
 * The expected values are written out twice, once here and once in Python, never derived from
 * our encoder. Set IBACKUP_REQUIRE_INTEROP=1 to make a missing tool a failure instead of a skip.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBinaryPlist, serializeBinaryPlist } from '../../../src/protocol/plist/binary.js';
import { parseXmlPlist, serializeXmlPlist } from '../../../src/protocol/plist/xml.js';
import { parsePlist } from '../../../src/protocol/plist/detect.js';
import { real, uid, type PlistDict } from '../../../src/protocol/plist/types.js';

const REQUIRE = process.env['IBACKUP_REQUIRE_INTEROP'] === '1';

function available(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

const HAVE_PYTHON = available('python3', ['-c', 'import plistlib']);
const HAVE_PLISTUTIL = available('plistutil', ['-v']);

/** Skips (or, when interop is required, fails) a test whose tool is missing. */
function requireTool(t: TestContext, have: boolean, tool: string): boolean {
  if (have) return true;
  if (REQUIRE) assert.fail(`${tool} is required (IBACKUP_REQUIRE_INTEROP=1) but is not installed`);
  t.skip(`${tool} is not installed; skipping (set IBACKUP_REQUIRE_INTEROP=1 to require it)`);
  return false;
}

/** The expected values, as a TS literal. Mirrors `expected()` in the Python script below. */
function expected(withUid: boolean): PlistDict {
  const v: PlistDict = {
    ints: [
      0,
      42,
      -1,
      255,
      256,
      65535,
      65536,
      2147483647,
      4294967296,
      -1099511627776,
      9007199254740993n,
      9223372036854775807n,
      -9223372036854775808n,
      18446744073709551615n,
    ],
    reals: [real(1), real(2), real(1.5), real(-0.5)],
    strings: ['', 'ascii', 'é', '日本', '😀', 'mixed é 日本 😀 & <tag> "q"'],
    data: [new Uint8Array(0), Uint8Array.from([0, 1, 0xff]), Uint8Array.from({ length: 256 }, (_, i) => i)],
    dates: [
      new Date('2001-01-01T00:00:00Z'),
      new Date('2020-01-02T03:04:05Z'),
      new Date('1970-01-01T00:00:00Z'),
      new Date('1999-12-31T23:59:59Z'),
    ],
    bools: [true, false],
    nested: { a: [1, [2, [3, {}]], { b: { c: [] } }], empty_list: [], empty_dict: {} },
  };
  if (withUid) v['uids'] = [uid(5), uid(70000), uid(0), uid(0xffffffff)];
  return v;
}

const PYTHON = String.raw`
import plistlib, sys, json, datetime
from plistlib import UID

def expected(with_uid):
    v = {
        'ints': [0, 42, -1, 255, 256, 65535, 65536, 2**31-1, 2**32, -2**40, 2**53+1, 2**63-1, -2**63, 2**64-1],
        'reals': [1.0, 2.0, 1.5, -0.5],
        'strings': ['', 'ascii', '\u00e9', '\u65e5\u672c', '\U0001F600', 'mixed \u00e9 \u65e5\u672c \U0001F600 & <tag> "q"'],
        'data': [b'', b'\x00\x01\xff', bytes(range(256))],
        'dates': [datetime.datetime(2001, 1, 1), datetime.datetime(2020, 1, 2, 3, 4, 5),
                  datetime.datetime(1970, 1, 1), datetime.datetime(1999, 12, 31, 23, 59, 59)],
        'bools': [True, False],
        'nested': {'a': [1, [2, [3, {}]], {'b': {'c': []}}], 'empty_list': [], 'empty_dict': {}},
    }
    if with_uid:
        v['uids'] = [UID(5), UID(70000), UID(0), UID(2**32-1)]
    return v

def canon(v):
    if isinstance(v, bool): return ['bool', v]
    if isinstance(v, int): return ['int', str(v)]
    if isinstance(v, float): return ['real', repr(v)]
    if isinstance(v, str): return ['str', v]
    if isinstance(v, bytes): return ['data', v.hex()]
    if isinstance(v, datetime.datetime): return ['date', v.isoformat()]
    if isinstance(v, UID): return ['uid', v.data]
    if isinstance(v, list): return ['array', [canon(x) for x in v]]
    if isinstance(v, dict): return ['dict', sorted(([k, canon(x)] for k, x in v.items()), key=lambda p: p[0])]
    raise TypeError(type(v))

mode, d = sys.argv[1], sys.argv[2]
if mode == 'write':
    with open(d + '/py.bin.plist', 'wb') as f:
        f.write(plistlib.dumps(expected(True), fmt=plistlib.FMT_BINARY, sort_keys=False))
    with open(d + '/py.xml.plist', 'wb') as f:
        f.write(plistlib.dumps(expected(False), fmt=plistlib.FMT_XML, sort_keys=False))
else:
    result = {}
    for name, with_uid in (('ours.bin.plist', True), ('ours.xml.plist', False)):
        with open(d + '/' + name, 'rb') as f:
            got = plistlib.load(f)
        want = canon(expected(with_uid))
        result[name] = 'OK' if canon(got) == want else json.dumps(canon(got))
    print(json.dumps(result))
`;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.error, undefined, `${cmd} failed to start`);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function plistutil(dir: string, from: string, to: string, format: 'bin' | 'xml'): Uint8Array {
  run('plistutil', ['-i', join(dir, from), '-o', join(dir, to), '-f', format]);
  return new Uint8Array(readFileSync(join(dir, to)));
}

describe('plist interop', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ibackup-plist-'));
    writeFileSync(join(dir, 'ours.bin.plist'), serializeBinaryPlist(expected(true)));
    writeFileSync(join(dir, 'ours.xml.plist'), serializeXmlPlist(expected(false)));
    if (HAVE_PYTHON) run('python3', ['-c', PYTHON, 'write', dir]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('we read plistlib binary output', (t) => {
    if (!requireTool(t, HAVE_PYTHON, 'python3 (plistlib)')) return;
    const bytes = new Uint8Array(readFileSync(join(dir, 'py.bin.plist')));
    assert.deepEqual(parseBinaryPlist(bytes), expected(true));
    assert.deepEqual(parsePlist(bytes), expected(true));
  });

  test('we read plistlib XML output', (t) => {
    if (!requireTool(t, HAVE_PYTHON, 'python3 (plistlib)')) return;
    const bytes = new Uint8Array(readFileSync(join(dir, 'py.xml.plist')));
    assert.deepEqual(parseXmlPlist(bytes), expected(false));
    assert.deepEqual(parsePlist(bytes), expected(false));
  });

  test('plistlib reads our binary and XML output with the same types', (t) => {
    if (!requireTool(t, HAVE_PYTHON, 'python3 (plistlib)')) return;
    const result = JSON.parse(run('python3', ['-c', PYTHON, 'check', dir])) as Record<string, string>;
    assert.deepEqual(result, { 'ours.bin.plist': 'OK', 'ours.xml.plist': 'OK' });
  });

  test('we read what plistutil makes of plistlib files (libplist forms: 16-byte ints, 4-byte reals)', (t) => {
    if (!requireTool(t, HAVE_PLISTUTIL, 'plistutil') || !requireTool(t, HAVE_PYTHON, 'python3 (plistlib)')) return;
    assert.deepEqual(parseXmlPlist(plistutil(dir, 'py.bin.plist', 'lp.xml.plist', 'xml')), expected(true));
    assert.deepEqual(parseBinaryPlist(plistutil(dir, 'py.xml.plist', 'lp.bin.plist', 'bin')), expected(false));
  });

  test('plistutil converts our files and we read its conversions back', (t) => {
    if (!requireTool(t, HAVE_PLISTUTIL, 'plistutil')) return;
    assert.deepEqual(parseXmlPlist(plistutil(dir, 'ours.bin.plist', 'ours-lp.xml.plist', 'xml')), expected(true));
    assert.deepEqual(parseBinaryPlist(plistutil(dir, 'ours.xml.plist', 'ours-lp.bin.plist', 'bin')), expected(false));
  });

  test('our XML layout is byte-identical to what plistutil writes for the same value', (t) => {
    if (!requireTool(t, HAVE_PLISTUTIL, 'plistutil')) return;
    const theirs = new TextDecoder().decode(plistutil(dir, 'ours.bin.plist', 'layout.xml.plist', 'xml'));
    assert.equal(new TextDecoder().decode(serializeXmlPlist(expected(true))), theirs);
  });
});
