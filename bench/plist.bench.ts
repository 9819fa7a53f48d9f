/**
 * Plist codec benchmark: a 100 000-entry dict (strings, integers, 16-byte data, booleans, reals)
 * serialized and parsed in binary and in XML. Prints milliseconds per format and, when python3 is
 * available, plistlib's time for the same dict in the same run and the ratio. The target is
 * serialize + parse under 1 s per format.
 *
 * Run: npm run bench:plist
 */
import { spawnSync } from 'node:child_process';
import {
  parseBinaryPlist,
  parseXmlPlist,
  real,
  serializeBinaryPlist,
  serializeXmlPlist,
  type PlistDict,
  type PlistValue,
} from '../src/protocol/plist/index.js';

const ENTRIES = 100_000;
const RUNS = 5;
const TARGET_MS = 1000;

function sample(): PlistDict {
  const dict: PlistDict = {};
  for (let i = 0; i < ENTRIES; i++) {
    let v: PlistValue;
    switch (i % 5) {
      case 0:
        v = `value number ${i}`;
        break;
      case 1:
        v = i * 7919;
        break;
      case 2:
        v = Uint8Array.from({ length: 16 }, (_, j) => (i + j) & 0xff);
        break;
      case 3:
        v = i % 2 === 0;
        break;
      default:
        v = real(i / 3);
    }
    dict[`key-${i}`] = v;
  }
  return dict;
}

/** The median of `RUNS` timings of `fn`, after one warm-up run. */
function median(fn: () => void): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

interface Result {
  serialize: number;
  parse: number;
  bytes: number;
}

function measure(serialize: (v: PlistValue) => Uint8Array, parse: (b: Uint8Array) => PlistValue): Result {
  const dict = sample();
  const bytes = serialize(dict);
  return {
    serialize: median(() => serialize(dict)),
    parse: median(() => parse(bytes)),
    bytes: bytes.length,
  };
}

const PYTHON = String.raw`
import plistlib, time, json
d = {}
for i in range(${ENTRIES}):
    m = i % 5
    if m == 0: v = 'value number %d' % i
    elif m == 1: v = i * 7919
    elif m == 2: v = bytes(((i + j) & 0xff) for j in range(16))
    elif m == 3: v = (i % 2 == 0)
    else: v = i / 3
    d['key-%d' % i] = v
def median(fn):
    fn()
    ts = []
    for _ in range(${RUNS}):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1000)
    return sorted(ts)[len(ts) // 2]
out = {}
for name, fmt in (('binary', plistlib.FMT_BINARY), ('xml', plistlib.FMT_XML)):
    data = plistlib.dumps(d, fmt=fmt, sort_keys=False)
    out[name] = {'serialize': median(lambda: plistlib.dumps(d, fmt=fmt, sort_keys=False)),
                 'parse': median(lambda: plistlib.loads(data))}
print(json.dumps(out))
`;

function plistlib(): Record<'binary' | 'xml', { serialize: number; parse: number }> | undefined {
  const r = spawnSync('python3', ['-c', PYTHON], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.error !== undefined || r.status !== 0) return undefined;
  return JSON.parse(r.stdout) as Record<'binary' | 'xml', { serialize: number; parse: number }>;
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;

const ours = {
  binary: measure(serializeBinaryPlist, (b) => parseBinaryPlist(b)),
  xml: measure(serializeXmlPlist, (b) => parseXmlPlist(b)),
};
const python = plistlib();
if (python === undefined) console.log('python3/plistlib not available: no comparison.');

let allOk = true;
for (const format of ['binary', 'xml'] as const) {
  const o = ours[format];
  const total = o.serialize + o.parse;
  const verdict = total < TARGET_MS ? 'OK' : 'SLOW';
  if (verdict === 'SLOW') allOk = false;
  let line =
    `${format.padEnd(6)} ${ENTRIES} entries (${(o.bytes / 1e6).toFixed(1)} MB): ` +
    `serialize ${ms(o.serialize)}, parse ${ms(o.parse)}, total ${ms(total)} [${verdict}, target < ${TARGET_MS} ms]`;
  const p = python?.[format];
  if (p !== undefined) {
    const pTotal = p.serialize + p.parse;
    line += `; plistlib serialize ${ms(p.serialize)}, parse ${ms(p.parse)}, total ${ms(pTotal)}, ratio ours/plistlib ${(total / pTotal).toFixed(2)}`;
  }
  console.log(line);
}
console.log(allOk ? 'OK' : 'SLOW');
