/**
 * A small baseline JPEG encoder for generated photos: JFIF, YCbCr with 4:2:0 chroma (as cameras
 * write), the example quantization and Huffman tables of ITU-T T.81 Annex K, a separable
 * scaled float DCT. Every table is built once per process (quantization once per quality), and
 * the entropy coder writes into one reused buffer, so a photo costs little more than its pixels.
 * Chosen over jpeg-js (which the tests still use to decode the photos): on the camera-roll
 * workload jpeg-js is about 6 times slower for photos up to 1024 px and 20 to 30 times slower for
 * those up to 256 px (it builds its tables on every call), and writes 4:4:4 files twice as big.
 */
import { concatBytes } from '../../protocol/bytes.js';

/** Natural (row-major) index of each zigzag position. */
const ZIGZAG = ((): Uint8Array => {
  const out = new Uint8Array(64);
  let k = 0;
  for (let s = 0; s < 15; s++) {
    const lo = Math.max(0, s - 7);
    const hi = Math.min(7, s);
    for (let i = lo; i <= hi; i++) {
      // Odd diagonals run down-left, even ones up-right.
      const row = s % 2 === 1 ? i : s - i;
      out[k++] = row * 8 + (s - row);
    }
  }
  return out;
})();

const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
  87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  ...new Array<number>(32).fill(99),
];

/** Every AC symbol: end of block, sixteen zeros, and each (run, size) with size 1–10. */
const AC_SYMBOLS = [
  0x00,
  0xf0,
  ...Array.from({ length: 160 }, (_, i) => (((i >> 0) % 16) << 4) | (Math.floor(i / 16) + 1)),
];

/** A Huffman table of Annex K: code counts per length 1–16 and its first symbols; the rest follow in ascending order. */
interface TableSpec {
  counts: readonly number[];
  values: readonly number[];
}

function completeValues(first: readonly number[], all: readonly number[]): number[] {
  const rest = all.filter((s) => !first.includes(s)).sort((a, b) => a - b);
  return [...first, ...rest];
}

const DC_VALUES = Array.from({ length: 12 }, (_, i) => i);
const TABLES: readonly TableSpec[] = [
  { counts: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], values: DC_VALUES },
  {
    counts: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
    values: completeValues(
      [
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71,
        0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72,
        0x82,
      ],
      AC_SYMBOLS,
    ),
  },
  { counts: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], values: DC_VALUES },
  {
    counts: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
    values: completeValues(
      [
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22,
        0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1,
        0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1,
      ],
      AC_SYMBOLS,
    ),
  },
];

/** Canonical codes of a table: code and length by symbol. */
interface Codes {
  code: Uint16Array;
  size: Uint8Array;
}

function codesOf(t: TableSpec): Codes {
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let next = 0;
  let at = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < (t.counts[len - 1] ?? 0); i++) {
      const sym = t.values[at++] ?? 0;
      code[sym] = next++;
      size[sym] = len;
    }
    next <<= 1;
  }
  return { code, size };
}

const [LUMA_DC, LUMA_AC, CHROMA_DC, CHROMA_AC] = TABLES.map(codesOf) as [Codes, Codes, Codes, Codes];

/** Scale factors of the DCT's outputs (cos(kπ/16)·√2, 1 for k = 0). */
const AAN = [1, 1.387039845, 1.306562965, 1.175875602, 1, 0.785694958, 0.5411961, 0.275899379];

interface Quant {
  /** The DQT segment. */
  dqt: Uint8Array;
  /** Multipliers turning DCT outputs into quantized values, natural order. */
  luma: Float32Array;
  chroma: Float32Array;
}

const quantCache = new Map<number, Quant>();

function quantFor(quality: number): Quant {
  const known = quantCache.get(quality);
  if (known !== undefined) return known;
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  const dqt = new Uint8Array(4 + 2 * 65);
  dqt.set([0xff, 0xdb, 0x00, 0x84]);
  const make = (base: readonly number[], id: number): Float32Array => {
    const mult = new Float32Array(64);
    dqt[4 + id * 65] = id;
    for (let k = 0; k < 64; k++) {
      const n = ZIGZAG[k] as number;
      const step = Math.min(255, Math.max(1, Math.floor(((base[n] as number) * scale + 50) / 100)));
      dqt[5 + id * 65 + k] = step;
      mult[n] = 1 / (step * (AAN[n >> 3] as number) * (AAN[n & 7] as number) * 8);
    }
    return mult;
  };
  const quant = { luma: make(LUMA_QUANT, 0), chroma: make(CHROMA_QUANT, 1), dqt };
  quantCache.set(quality, quant);
  return quant;
}

const JFIF = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
const DHT = ((): Uint8Array => {
  const parts: number[] = [];
  for (const [i, t] of TABLES.entries()) parts.push([0x00, 0x10, 0x01, 0x11][i] as number, ...t.counts, ...t.values);
  return Uint8Array.from([0xff, 0xc4, (parts.length + 2) >> 8, (parts.length + 2) & 0xff, ...parts]);
})();
const SOS = Uint8Array.from([0xff, 0xda, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
const EOI = Uint8Array.from([0xff, 0xd9]);

function sof(width: number, height: number): Uint8Array {
  return Uint8Array.from([
    0xff,
    0xc0,
    0,
    17,
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ]);
}

/** The entropy-coded segment: bits packed into bytes, 0xFF stuffed with 0x00. */
class BitWriter {
  buf = new Uint8Array(1 << 20);
  at = 0;
  private bits = 0;
  private count = 0;

  reset(capacity: number): void {
    if (this.buf.length < capacity) this.buf = new Uint8Array(capacity);
    this.at = 0;
    this.bits = 0;
    this.count = 0;
  }

  /** Appends the low `n` bits of `v` (n ≤ 16). */
  put(v: number, n: number): void {
    this.bits = (this.bits << n) | (v & ((1 << n) - 1));
    this.count += n;
    while (this.count >= 8) {
      this.count -= 8;
      const byte = (this.bits >>> this.count) & 0xff;
      if (this.at + 2 > this.buf.length) this.grow();
      this.buf[this.at++] = byte;
      if (byte === 0xff) this.buf[this.at++] = 0;
    }
    this.bits &= (1 << this.count) - 1;
  }

  /** Pads the last byte with one-bits. */
  flush(): void {
    if (this.count > 0) this.put(0x7f, 8 - this.count);
  }

  private grow(): void {
    const bigger = new Uint8Array(this.buf.length * 2);
    bigger.set(this.buf);
    this.buf = bigger;
  }
}

const writer = new BitWriter();
const block = new Float32Array(64);

/** In-place 1-D scaled DCT of 8 values of `d` from `o`, `s` apart. */
function dct8(d: Float32Array, o: number, s: number): void {
  const d0 = d[o] as number,
    d1 = d[o + s] as number,
    d2 = d[o + 2 * s] as number,
    d3 = d[o + 3 * s] as number;
  const d4 = d[o + 4 * s] as number,
    d5 = d[o + 5 * s] as number,
    d6 = d[o + 6 * s] as number,
    d7 = d[o + 7 * s] as number;
  const t0 = d0 + d7,
    t7 = d0 - d7,
    t1 = d1 + d6,
    t6 = d1 - d6,
    t2 = d2 + d5,
    t5 = d2 - d5,
    t3 = d3 + d4,
    t4 = d3 - d4;
  const e0 = t0 + t3,
    e3 = t0 - t3,
    e1 = t1 + t2,
    e2 = t1 - t2;
  d[o] = e0 + e1;
  d[o + 4 * s] = e0 - e1;
  const z1 = (e2 + e3) * 0.707106781;
  d[o + 2 * s] = e3 + z1;
  d[o + 6 * s] = e3 - z1;
  const o0 = t4 + t5,
    o1 = t5 + t6,
    o2 = t6 + t7;
  const z5 = (o0 - o2) * 0.382683433;
  const z2 = 0.5411961 * o0 + z5;
  const z4 = 1.306562965 * o2 + z5;
  const z3 = o1 * 0.707106781;
  const z11 = t7 + z3,
    z13 = t7 - z3;
  d[o + 5 * s] = z13 + z2;
  d[o + 3 * s] = z13 - z2;
  d[o + s] = z11 + z4;
  d[o + 7 * s] = z11 - z4;
}

function category(v: number): number {
  return v === 0 ? 0 : 32 - Math.clz32(v < 0 ? -v : v);
}

/** Transforms, quantizes and codes `block`; returns its DC value for the next block's difference. */
function codeBlock(w: BitWriter, mult: Float32Array, dc: Codes, ac: Codes, prevDc: number): number {
  for (let r = 0; r < 64; r += 8) dct8(block, r, 1);
  for (let c = 0; c < 8; c++) dct8(block, c, 8);
  const q0 = Math.round((block[0] as number) * (mult[0] as number));
  const diff = q0 - prevDc;
  const dcCat = category(diff);
  w.put(dc.code[dcCat] as number, dc.size[dcCat] as number);
  if (dcCat > 0) w.put(diff < 0 ? diff - 1 : diff, dcCat);
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const n = ZIGZAG[k] as number;
    const v = Math.round((block[n] as number) * (mult[n] as number));
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      w.put(ac.code[0xf0] as number, ac.size[0xf0] as number);
      run -= 16;
    }
    const cat = category(v);
    const sym = (run << 4) | cat;
    w.put(ac.code[sym] as number, ac.size[sym] as number);
    w.put(v < 0 ? v - 1 : v, cat);
    run = 0;
  }
  if (run > 0) w.put(ac.code[0] as number, ac.size[0] as number);
  return q0;
}

/** Level-shifted Y, Cb, Cr planes, padded to whole 16×16 units by repeating the last row and column; chroma halved each way. */
function planes(
  rgb: Uint8Array,
  width: number,
  height: number,
  pw: number,
  ph: number,
): { y: Float32Array; cb: Float32Array; cr: Float32Array } {
  const y = new Float32Array(pw * ph);
  const cw = pw >> 1;
  const cb = new Float32Array(cw * (ph >> 1));
  const cr = new Float32Array(cw * (ph >> 1));
  for (let r = 0; r < ph; r++) {
    const sr = Math.min(r, height - 1) * width;
    const crow = (r >> 1) * cw;
    for (let c = 0; c < pw; c++) {
      const p = (sr + Math.min(c, width - 1)) * 3;
      const R = rgb[p] as number,
        G = rgb[p + 1] as number,
        B = rgb[p + 2] as number;
      y[r * pw + c] = 0.299 * R + 0.587 * G + 0.114 * B - 128;
      const ci = crow + (c >> 1);
      cb[ci] = (cb[ci] as number) + 0.25 * (-0.168736 * R - 0.331264 * G + 0.5 * B);
      cr[ci] = (cr[ci] as number) + 0.25 * (0.5 * R - 0.418688 * G - 0.081312 * B);
    }
  }
  return { y, cb, cr };
}

function load(plane: Float32Array, stride: number, x: number, yy: number): void {
  for (let r = 0; r < 8; r++) {
    const from = (yy + r) * stride + x;
    for (let c = 0; c < 8; c++) block[r * 8 + c] = plane[from + c] as number;
  }
}

/** A baseline JFIF JPEG of `rgb` (3 bytes per pixel, row-major) at `quality` 1–100. */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality: number): Uint8Array {
  if (width < 1 || height < 1 || width > 0xffff || height > 0xffff || rgb.length < width * height * 3) {
    throw new RangeError(`cannot encode a ${width}×${height} image from ${rgb.length} bytes`);
  }
  const quant = quantFor(quality);
  const pw = Math.ceil(width / 16) * 16;
  const ph = Math.ceil(height / 16) * 16;
  const { y, cb, cr } = planes(rgb, width, height, pw, ph);
  const w = writer;
  w.reset(pw * ph * 4);
  let dy = 0;
  let dcb = 0;
  let dcr = 0;
  for (let my = 0; my < ph; my += 16) {
    for (let mx = 0; mx < pw; mx += 16) {
      for (let b = 0; b < 4; b++) {
        load(y, pw, mx + (b & 1) * 8, my + (b >> 1) * 8);
        dy = codeBlock(w, quant.luma, LUMA_DC, LUMA_AC, dy);
      }
      load(cb, pw >> 1, mx >> 1, my >> 1);
      dcb = codeBlock(w, quant.chroma, CHROMA_DC, CHROMA_AC, dcb);
      load(cr, pw >> 1, mx >> 1, my >> 1);
      dcr = codeBlock(w, quant.chroma, CHROMA_DC, CHROMA_AC, dcr);
    }
  }
  w.flush();
  return concatBytes([JFIF, quant.dqt, sof(width, height), DHT, SOS, w.buf.subarray(0, w.at), EOI]);
}
