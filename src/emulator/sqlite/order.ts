/**
 * The order of an index's entries: by key as SQLite's BINARY collation compares it (TEXT by its
 * UTF-8 bytes, INTEGER numerically), then by rowid — here the position in the table, since rows
 * are appended in rowid order. Sorting is done in steps (see steps.ts).
 */
import { complete } from './steps.js';

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
/** Keys sorted natively per step of a merge sort. */
const RUN = 2048;
/** Keys looked at per step otherwise. */
const MERGE_STEP = 8192;
/** Groups this small are sorted by comparison. */
const SMALL = 16;

/**
 * Positions 0..n-1 sorted by `keys` in BINARY order, ties by position. Keys that mostly come in
 * order (a catalogue's paths, in tree order) are merge-sorted; others (fileIDs) radix-sorted.
 */
export function* textOrderSteps(keys: readonly string[]): Generator<void, number[]> {
  const n = keys.length;
  let sortKeys = keys;
  for (let i = 0; i < n; i++) {
    if (NEEDS_CODE_POINTS.test(keys[i] as string)) {
      sortKeys = keys.map((k) => (NEEDS_CODE_POINTS.test(k) ? codePointKey(k) : k));
      break;
    }
    if (i % MERGE_STEP === MERGE_STEP - 1) yield;
  }
  let descents = 0;
  for (let i = 1; i < n; i++) if ((sortKeys[i] as string) < (sortKeys[i - 1] as string)) descents++;
  yield;
  return descents < n / 64 ? yield* mergeOrder(sortKeys) : yield* radixOrder(sortKeys);
}

function before(keys: readonly string[], a: number, b: number): boolean {
  const x = keys[a] as string;
  const y = keys[b] as string;
  return x < y || (x === y && a < b);
}

/** Runs of 2 048 sorted natively, then merged pairwise (a pair already in order is copied). */
function* mergeOrder(keys: readonly string[]): Generator<void, number[]> {
  const n = keys.length;
  let from = Array.from({ length: n }, (_, i) => i);
  for (let lo = 0; lo < n; lo += RUN) {
    const run = from.slice(lo, lo + RUN).sort((a, b) => (before(keys, a, b) ? -1 : 1));
    for (let k = 0; k < run.length; k++) from[lo + k] = run[k] as number;
    yield;
  }
  let to = new Array<number>(n);
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      if (mid < hi && before(keys, from[mid - 1] as number, from[mid] as number)) i = mid; // in order: a copy
      while (k < i) to[k] = from[k++] as number;
      let budget = MERGE_STEP;
      while (i < mid && j < hi) {
        to[k++] = before(keys, from[j] as number, from[i] as number) ? (from[j++] as number) : (from[i++] as number);
        if (--budget === 0) {
          budget = MERGE_STEP;
          yield;
        }
      }
      while (i < mid) to[k++] = from[i++] as number;
      while (j < hi) to[k++] = from[j++] as number;
      yield;
    }
    [from, to] = [to, from];
  }
  return from;
}

/**
 * A most-significant-digit radix sort: a digit is as many code units as fit in a plain number
 * beside the position (each code unit as its rank among those the keys use, 0 marking the end
 * of a key), and each level sorts a group's digits natively, after skipping the prefix the group
 * shares. Random keys are ordered by their first digit alone.
 */
function* radixOrder(keys: readonly string[]): Generator<void, number[]> {
  const n = keys.length;
  const { rank, used } = yield* codeUnitRanks(keys);
  const positionBits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const unitBits = Math.max(1, Math.ceil(Math.log2(used + 1)));
  const width = Math.floor((53 - positionBits) / unitBits);
  if (width < 1) return yield* mergeOrder(keys);
  const sorter = new RadixSorter(keys, rank, width, 2 ** positionBits, 2 ** unitBits);
  yield* sorter.sortGroup(
    Array.from({ length: n }, (_, i) => i),
    0,
    true,
  );
  return sorter.out;
}

/** Each code unit the keys use, ranked from 1 in code unit order (0 marks the end of a key). */
function* codeUnitRanks(keys: readonly string[]): Generator<void, { rank: Int32Array; used: number }> {
  const rank = new Int32Array(0x10000);
  for (let j = 0; j < keys.length; j++) {
    const k = keys[j] as string;
    for (let i = 0; i < k.length; i++) rank[k.charCodeAt(i)] = 1;
    if (j % MERGE_STEP === MERGE_STEP - 1) yield;
  }
  let used = 0;
  for (let c = 0; c < rank.length; c++) if (rank[c]) rank[c] = ++used;
  return { rank, used };
}

/** The levels of one radix sort; positions go to `out` in key order. */
class RadixSorter {
  readonly out: number[] = [];
  private readonly compare = (a: number, b: number): number => (before(this.keys, a, b) ? -1 : 1);

  constructor(
    private readonly keys: readonly string[],
    private readonly rank: Int32Array,
    /** Code units per digit. */
    private readonly width: number,
    /** 2 ** the bits a position takes beside its digit. */
    private readonly positions: number,
    /** 2 ** the bits a code unit's rank takes. */
    private readonly radix: number,
  ) {}

  /** Sorts a group whose keys share their first `from` code units; with `steps`, yields now and then. */
  *sortGroup(group: number[], from: number, steps: boolean): Generator<void, void> {
    const { keys, out, positions } = this;
    if (group.length <= SMALL) {
      for (const i of group.sort(this.compare)) out.push(i);
      return;
    }
    // Skip what every key of the group shares; if that is all of every key, they are equal.
    const d = this.sharedPrefix(group, from);
    if (d === (keys[group[0] as number] as string).length && group.every((i) => (keys[i] as string).length === d)) {
      for (const i of group.sort((a, b) => a - b)) out.push(i);
      return;
    }
    const numbers = this.digits(group, d);
    if (steps) yield;
    let budget = MERGE_STEP;
    for (let k = 0; k < numbers.length;) {
      const dg = Math.floor((numbers[k] as number) / positions);
      let j = k + 1;
      while (j < numbers.length && Math.floor((numbers[j] as number) / positions) === dg) j++;
      if (j === k + 1) out.push((numbers[k] as number) - dg * positions);
      else {
        const run: number[] = [];
        for (let x = k; x < j; x++) run.push((numbers[x] as number) - dg * positions);
        complete(this.sortGroup(run, d, false));
      }
      budget -= j - k;
      k = j;
      if (steps && budget <= 0) {
        budget = MERGE_STEP;
        yield;
      }
    }
  }

  /** Where the group's keys stop agreeing (from `from` on; at most the first key's length). */
  private sharedPrefix(group: readonly number[], from: number): number {
    const { keys } = this;
    const first = keys[group[0] as number] as string;
    let d = first.length;
    for (let k = 1; k < group.length && d > from; k++) {
      const s = keys[group[k] as number] as string;
      const end = Math.min(d, s.length);
      let i = from;
      while (i < end && s.charCodeAt(i) === first.charCodeAt(i)) i++;
      d = i;
    }
    return d;
  }

  /** Each member's digit at `d` with its position beside it, sorted. */
  private digits(group: readonly number[], d: number): Float64Array {
    const numbers = new Float64Array(group.length);
    for (let k = 0; k < group.length; k++) {
      const i = group[k] as number;
      numbers[k] = this.digit(this.keys[i] as string, d) * this.positions + i;
    }
    return numbers.sort();
  }

  private digit(s: string, d: number): number {
    const { rank, radix, width } = this;
    let v = 0;
    for (let i = d; i < d + width; i++) v = v * radix + (i < s.length ? (rank[s.charCodeAt(i)] as number) : 0);
    return v;
  }
}

/** Positions sorted by text key (see `textOrderSteps`), in one go. */
export function textOrder(keys: readonly string[]): number[] {
  return complete(textOrderSteps(keys));
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
