/**
 * B-trees built bottom-up from rows already in key order (https://www.sqlite.org/fileformat2.html
 * §1.6): a table tree from rows appended in rowid order, an index tree from entries sorted by
 * key. Leaves are filled one after the other, then each level above is built from the one below
 * until a single page, the root, is left. Cells are written back to back from the end of the page.
 */
import {
  INDEX_INTERIOR,
  INDEX_LEAF,
  INDEX_MAX_LOCAL,
  INTERIOR_HEADER,
  LEAF_HEADER,
  PAGE_SIZE,
  TABLE_INTERIOR,
  TABLE_LEAF,
  TABLE_MAX_LOCAL,
  cellPayloadBytes,
  closeBtreePage,
  localBytes,
  putSpilledPayload,
  type PageStore,
} from './pages.js';
import { complete } from './steps.js';
import {
  encodeRecord,
  layoutRecord,
  putInt,
  putRecord,
  putText,
  putValue,
  putVarint,
  serialBytes,
  serialOf,
  utf8Length,
  varintLength,
  type RecordLayout,
  type SqlValue,
} from './record.js';

interface Child {
  page: number;
  /** The largest rowid under it. */
  key: number;
}

/** Writes a table's rows into leaf pages as they come; `finish` builds the levels above. */
export class TableTreeWriter {
  private page = 0;
  private buf: Buffer | undefined;
  private starts: number[] = [];
  private top = PAGE_SIZE;
  private lastRowid = 0;
  private readonly children: Child[] = [];
  private readonly layout: RecordLayout = { serials: [], headerLength: 0, length: 0 };

  constructor(private readonly store: PageStore) {}

  /** Appends a row; rowids must increase. `textBytes[i]`: UTF-8 length of string value i, if known. */
  append(rowid: number, values: readonly SqlValue[], textBytes?: readonly number[]): void {
    if (!Number.isSafeInteger(rowid) || rowid <= this.lastRowid)
      throw new RangeError(`rowid ${rowid} does not follow ${this.lastRowid}`);
    const layout = layoutRecord(values, textBytes, this.layout);
    const length = layout.length;
    const size = varintLength(length) + varintLength(rowid) + cellPayloadBytes(length, TABLE_MAX_LOCAL);
    if (!this.buf || LEAF_HEADER + 2 * (this.starts.length + 1) > this.top - size) this.newLeaf();
    const buf = this.buf as Buffer;
    const at = this.top - size;
    let p = putVarint(buf, at, length);
    p = putVarint(buf, p, rowid);
    if (localBytes(length, TABLE_MAX_LOCAL) === length) putRecord(buf, p, values, layout);
    else putSpilledPayload(this.store, buf, p, encodeRecord(values), TABLE_MAX_LOCAL);
    this.starts.push(at);
    this.top = at;
    this.lastRowid = rowid;
  }

  private closeLeaf(): void {
    if (!this.buf) return;
    closeBtreePage(this.buf, 0, TABLE_LEAF, this.starts);
    this.children.push({ page: this.page, key: this.lastRowid });
    this.buf = undefined;
  }

  private newLeaf(): void {
    this.closeLeaf();
    this.page = this.store.allocate();
    this.buf = this.store.page(this.page);
    this.starts = [];
    this.top = PAGE_SIZE;
  }

  /** Closes the last leaf and builds the interior levels; returns the root page. */
  finish(): number {
    if (!this.buf && this.children.length === 0) this.newLeaf();
    this.closeLeaf();
    let level = this.children;
    while (level.length > 1) level = this.tableLevel(level);
    return (level[0] as Child).page;
  }

  private tableLevel(children: readonly Child[]): Child[] {
    // A page holds children a..b: a cell (child, its largest rowid) for each but the last, which
    // is the page's right-most pointer.
    const cell = (i: number): number => 2 + 4 + varintLength((children[i] as Child).key);
    const groups = groupChildren(children.length, cell);
    const out: Child[] = [];
    for (const [a, b] of groups) {
      const n = this.store.allocate();
      const page = this.store.page(n);
      const starts: number[] = [];
      let top = PAGE_SIZE;
      for (let i = a; i < b; i++) {
        const c = children[i] as Child;
        top -= 4 + varintLength(c.key);
        page.writeUInt32BE(c.page, top);
        putVarint(page, top + 4, c.key);
        starts.push(top);
      }
      const last = children[b] as Child;
      closeBtreePage(page, 0, TABLE_INTERIOR, starts, last.page);
      out.push({ page: n, key: last.key });
    }
    return out;
  }
}

/**
 * Splits children 0..count-1 into pages: [a, b] holds a cell for each child but the last, and
 * `cell(i)` is what child i's cell takes (pointer included). No page is left with a single
 * child: the last page takes one from the page before it.
 */
function groupChildren(count: number, cell: (i: number) => number): Array<[number, number]> {
  const groups: Array<[number, number]> = [];
  let a = 0;
  let used = INTERIOR_HEADER;
  for (let j = 1; j < count; j++) {
    const cost = cell(j - 1);
    if (used + cost <= PAGE_SIZE) {
      used += cost;
      continue;
    }
    groups.push([a, j - 1]);
    a = j;
    used = INTERIOR_HEADER;
  }
  groups.push([a, count - 1]);
  const last = groups[groups.length - 1] as [number, number];
  const before = groups[groups.length - 2];
  if (before && last[0] === last[1]) {
    before[1] -= 1;
    last[0] -= 1;
  }
  return groups;
}

/**
 * An index over one column of a table whose rows have rowids 1..n in order: each entry is the
 * record (key, rowid), and `order` lists the rows' positions (rowid - 1) in key order.
 */
export interface IndexEntries {
  order: readonly number[];
  /** The indexed column, by position. */
  keys: readonly (string | number)[];
  /** UTF-8 length of each text key, by position (computed when absent). */
  textBytes?: ArrayLike<number>;
}

/** Builds an index tree from its sorted entries; returns the root page. */
export function writeIndexTree(store: PageStore, entries: IndexEntries): number {
  return complete(indexTreeSteps(store, entries));
}

/** Entries sized or written per step. */
const STEP = 4096;

/** `writeIndexTree` in steps: yields after each few thousand entries. */
export function* indexTreeSteps(store: PageStore, entries: IndexEntries): Generator<void, number> {
  const tree = new IndexTreeBuilder(store, entries);
  yield* tree.sizeEntries();
  const { leaves, dividers } = tree.splitLeaves();
  const pages = yield* tree.writeLeaves(leaves);
  return tree.writeLevels(pages, dividers);
}

/** One index tree being built: its entries' sizes, then its leaves, then the levels above. */
class IndexTreeBuilder {
  private readonly order: readonly number[];
  private readonly keys: readonly (string | number)[];
  private readonly n: number;
  /** Each entry's serial type of its key, record length and what its leaf cell takes. */
  private readonly serials: Float64Array;
  private readonly lengths: Int32Array;
  private readonly cells: Int32Array;

  constructor(
    private readonly store: PageStore,
    private readonly entries: IndexEntries,
  ) {
    this.order = entries.order;
    this.keys = entries.keys;
    this.n = entries.order.length;
    this.serials = new Float64Array(this.n);
    this.lengths = new Int32Array(this.n);
    this.cells = new Int32Array(this.n);
  }

  *sizeEntries(): Generator<void> {
    const { order, keys, entries } = this;
    for (let i = 0; i < this.n; i++) {
      const pos = order[i] as number;
      const key = keys[pos] as string | number;
      const tk = serialOf(key, typeof key === 'string' ? (entries.textBytes?.[pos] ?? utf8Length(key)) : 0);
      const tr = serialOf(pos + 1, 0);
      // Two serial types: the header is always shorter than 128 bytes.
      const length = 1 + varintLength(tk) + varintLength(tr) + serialBytes(tk) + serialBytes(tr);
      this.serials[i] = tk;
      this.lengths[i] = length;
      this.cells[i] = varintLength(length) + cellPayloadBytes(length, INDEX_MAX_LOCAL);
      if (i % STEP === STEP - 1) yield;
    }
  }

  /** Leaves: filled in order; the entry that does not fit becomes the divider above. */
  splitLeaves(): { leaves: Array<[number, number]>; dividers: number[] } {
    const { n, cells } = this;
    const leaves: Array<[number, number]> = [];
    const dividers: number[] = [];
    let start = 0;
    let used = LEAF_HEADER;
    for (let i = 0; i < n; i++) {
      const cost = 2 + (cells[i] as number);
      if (used + cost <= PAGE_SIZE) {
        used += cost;
        continue;
      }
      leaves.push([start, i]);
      dividers.push(i);
      start = i + 1;
      used = LEAF_HEADER;
    }
    leaves.push([start, n]);
    if (start === n && dividers.length > 0) {
      // The last entry became a divider: it goes to the last leaf, the one before it goes up.
      const before = leaves[leaves.length - 2] as [number, number];
      before[1] -= 1;
      dividers[dividers.length - 1] = n - 2;
      leaves[leaves.length - 1] = [n - 1, n];
    }
    return { leaves, dividers };
  }

  /** Writes the leaves; returns their page numbers. */
  *writeLeaves(leaves: ReadonlyArray<readonly [number, number]>): Generator<void, number[]> {
    const pages: number[] = [];
    let written = 0;
    for (const [a, b] of leaves) {
      const no = this.store.allocate();
      const page = this.store.page(no);
      const starts: number[] = [];
      let top = PAGE_SIZE;
      for (let i = a; i < b; i++) {
        top -= this.cells[i] as number;
        this.put(page, top, i);
        starts.push(top);
      }
      closeBtreePage(page, 0, INDEX_LEAF, starts);
      pages.push(no);
      written += b - a;
      if (written >= STEP) {
        written = 0;
        yield;
      }
    }
    return pages;
  }

  /** Levels above: page j's cell is (child j, divider j); the last child is the right-most pointer. */
  writeLevels(leafPages: number[], leafDividers: number[]): number {
    const { cells } = this;
    let pages = leafPages;
    let dividers = leafDividers;
    while (pages.length > 1) {
      const below = pages;
      const divs = dividers;
      const groups = groupChildren(below.length, (j) => 2 + 4 + (cells[divs[j] as number] as number));
      dividers = [];
      for (let g = 1; g < groups.length; g++) dividers.push(divs[(groups[g] as [number, number])[0] - 1] as number);
      pages = groups.map(([a, b]) => this.interiorPage(below, divs, a, b));
    }
    return pages[0] as number;
  }

  /** An interior page over children a..b-1 of `below` (child b is its right-most pointer). */
  private interiorPage(below: readonly number[], divs: readonly number[], a: number, b: number): number {
    const no = this.store.allocate();
    const page = this.store.page(no);
    const starts: number[] = [];
    let top = PAGE_SIZE;
    for (let j = a; j < b; j++) {
      const d = divs[j] as number;
      top -= 4 + (this.cells[d] as number);
      page.writeUInt32BE(below[j] as number, top);
      this.put(page, top + 4, d);
      starts.push(top);
    }
    closeBtreePage(page, 0, INDEX_INTERIOR, starts, below[b] as number);
    return no;
  }

  /** Writes entry i's cell at `at`. */
  private put(page: Buffer, at: number, i: number): void {
    const length = this.lengths[i] as number;
    const pos = this.order[i] as number;
    const key = this.keys[pos] as string | number;
    const tk = this.serials[i] as number;
    const tr = serialOf(pos + 1, 0);
    let p = putVarint(page, at, length);
    if (localBytes(length, INDEX_MAX_LOCAL) !== length) {
      putSpilledPayload(this.store, page, p, encodeRecord([key, pos + 1]), INDEX_MAX_LOCAL);
      return;
    }
    page[p++] = 1 + varintLength(tk) + varintLength(tr); // under 128: one byte
    p = putVarint(page, p, tk);
    page[p++] = tr; // an integer's serial type is below 10
    p = typeof key === 'string' ? putText(page, p, key, (tk - 13) >>> 1) : putValue(page, p, key, tk);
    putInt(page, p, pos + 1, tr);
  }
}
