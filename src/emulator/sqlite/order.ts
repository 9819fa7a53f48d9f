/**
 * The order of an index's entries: by key as SQLite's BINARY collation compares it (TEXT by its
 * UTF-8 bytes, INTEGER numerically), then by rowid — here the position in the table, since rows
 * are appended in rowid order.
 */

/** Code units ≥ U+D800 reordered so that comparing code units compares code points (UTF-8 order). */
function codePointKey(s: string): string {
  const w = Buffer.from(s, 'utf8').toString('utf8'); // lone surrogates are written as U+FFFD
  let out = '';
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    out += String.fromCharCode(c >= 0xe000 ? c - 0x800 : c >= 0xd800 ? c + 0x2000 : c);
  }
  return out;
}

const NEEDS_CODE_POINTS = /[\ud800-\uffff]/;
/** Groups this small are sorted by comparison. */
const SMALL = 16;

function compareAt(keys: readonly string[], a: number, b: number): number {
  const x = keys[a] as string;
  const y = keys[b] as string;
  return x < y ? -1 : x > y ? 1 : a - b;
}

/**
 * Positions 0..n-1 sorted by `keys` in BINARY order, ties by position. A most-significant-digit
 * radix sort: a digit is as many code units as fit in a plain number beside the position (each
 * code unit as its rank among those the keys use, 0 marking the end of a key), and each level
 * sorts a group's digits natively; long shared prefixes (paths) cost a pass each, and random
 * keys (fileIDs) are ordered by their first digit alone.
 */
export function textOrder(keys: readonly string[]): number[] {
  const sortKeys = keys.some((k) => NEEDS_CODE_POINTS.test(k)) ? keys.map((k) => (NEEDS_CODE_POINTS.test(k) ? codePointKey(k) : k)) : keys;
  const n = sortKeys.length;
  // Keys in long ascending runs (a catalogue's paths, in tree order) merge fastest by comparison.
  let descents = 0;
  for (let i = 1; i < n; i++) if ((sortKeys[i] as string) < (sortKeys[i - 1] as string)) descents++;
  if (descents < n / 64) return Array.from({ length: n }, (_, i) => i).sort((a, b) => compareAt(sortKeys, a, b));
  const rank = new Int32Array(0x10000);
  for (const k of sortKeys) for (let i = 0; i < k.length; i++) rank[k.charCodeAt(i)] = 1;
  let used = 0;
  for (let c = 0; c < rank.length; c++) if (rank[c]) rank[c] = ++used;
  const positionBits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const unitBits = Math.max(1, Math.ceil(Math.log2(used + 1)));
  const width = Math.floor((53 - positionBits) / unitBits);
  const all = Array.from({ length: n }, (_, i) => i);
  if (width < 1) return all.sort((a, b) => compareAt(sortKeys, a, b));
  const positions = 2 ** positionBits;
  const radix = 2 ** unitBits;
  const digit = (s: string, d: number): number => {
    let v = 0;
    for (let i = d; i < d + width; i++) v = v * radix + (i < s.length ? (rank[s.charCodeAt(i)] as number) : 0);
    return v;
  };
  const out: number[] = [];

  const sortGroup = (group: number[], from: number): void => {
    if (group.length <= SMALL) {
      for (const i of group.sort((a, b) => compareAt(sortKeys, a, b))) out.push(i);
      return;
    }
    // Skip what every key of the group shares; if that is all of every key, they are equal.
    const first = sortKeys[group[0] as number] as string;
    let d = first.length;
    for (let k = 1; k < group.length && d > from; k++) {
      const s = sortKeys[group[k] as number] as string;
      const end = Math.min(d, s.length);
      let i = from;
      while (i < end && s.charCodeAt(i) === first.charCodeAt(i)) i++;
      d = i;
    }
    if (d === first.length && group.every((i) => (sortKeys[i] as string).length === d)) {
      for (const i of group.sort((a, b) => a - b)) out.push(i);
      return;
    }
    const numbers = new Float64Array(group.length);
    for (let k = 0; k < group.length; k++) {
      const i = group[k] as number;
      numbers[k] = digit(sortKeys[i] as string, d) * positions + i;
    }
    numbers.sort();
    for (let k = 0; k < numbers.length; ) {
      const dg = Math.floor((numbers[k] as number) / positions);
      let j = k + 1;
      while (j < numbers.length && Math.floor((numbers[j] as number) / positions) === dg) j++;
      if (j === k + 1) out.push((numbers[k] as number) - dg * positions);
      else {
        const run: number[] = [];
        for (let x = k; x < j; x++) run.push((numbers[x] as number) - dg * positions);
        sortGroup(run, d);
      }
      k = j;
    }
  };
  sortGroup(all, 0);
  return out;
}

/**
 * Positions sorted by a key many rows share (a domain, a flag): rows grouped by key in position
 * order, groups in key order.
 */
export function groupedOrder<K extends string | number>(keys: readonly K[]): number[] {
  const groups = new Map<K, number[]>();
  keys.forEach((k, i) => {
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const distinct = [...groups.keys()];
  const strings = distinct.filter((k): k is K & string => typeof k === 'string');
  const numbers = distinct.filter((k): k is K & number => typeof k === 'number').sort((a, b) => a - b);
  // INTEGER sorts before TEXT.
  const sorted: K[] = [...numbers, ...textOrder(strings).map((i) => strings[i] as K & string)];
  const out: number[] = [];
  for (const k of sorted) for (const i of groups.get(k) as number[]) out.push(i);
  return out;
}
