/**
 * The pages of a SQLite database being written (https://www.sqlite.org/fileformat2.html §1.5,
 * §1.6): 4 096-byte pages numbered from 1, kept in 1 MiB slabs, and the payload rules of B-tree
 * cells — how much of a record stays on its page and how the rest is chained through overflow
 * pages.
 */
export const PAGE_SIZE = 4096;
/** No bytes are reserved at the end of a page, so the usable size is the page size. */
const USABLE = PAGE_SIZE;
const SLAB_PAGES = 256;

/** Largest payload a table leaf cell keeps on its page. */
export const TABLE_MAX_LOCAL = USABLE - 35;
/** Largest payload an index cell keeps on its page (the 64/255 fraction of the header). */
export const INDEX_MAX_LOCAL = Math.floor(((USABLE - 12) * 64) / 255) - 23;
/** What a spilled payload keeps on its page at least (the 32/255 fraction). */
const MIN_LOCAL = Math.floor(((USABLE - 12) * 32) / 255) - 23;
const OVERFLOW_DATA = USABLE - 4;

export class PageStore {
  private readonly slabs: Buffer[] = [];
  /** Pages allocated so far; the last page's number. */
  count = 0;

  /** A new zeroed page; returns its number. */
  allocate(): number {
    const n = ++this.count;
    if ((n - 1) % SLAB_PAGES === 0) this.slabs.push(Buffer.alloc(SLAB_PAGES * PAGE_SIZE));
    return n;
  }

  /** The bytes of page `n`. */
  page(n: number): Buffer {
    const slab = this.slabs[Math.floor((n - 1) / SLAB_PAGES)];
    if (!slab || n < 1 || n > this.count) throw new RangeError(`page ${n} was not allocated`);
    const at = ((n - 1) % SLAB_PAGES) * PAGE_SIZE;
    return slab.subarray(at, at + PAGE_SIZE);
  }

  /** The whole file, every allocated page in order, as views of the slabs (no copy). */
  chunks(): Buffer[] {
    const last = this.count - (this.slabs.length - 1) * SLAB_PAGES;
    return this.slabs.map((slab, i) => (i === this.slabs.length - 1 ? slab.subarray(0, last * PAGE_SIZE) : slab));
  }
}

/** Bytes of a payload of `length` that stay in the cell; the rest goes to overflow pages. */
export function localBytes(length: number, maxLocal: number): number {
  if (length <= maxLocal) return length;
  const k = MIN_LOCAL + ((length - MIN_LOCAL) % OVERFLOW_DATA);
  return k <= maxLocal ? k : MIN_LOCAL;
}

/** Bytes a payload of `length` takes in its cell: local part, plus the first overflow page's number. */
export function cellPayloadBytes(length: number, maxLocal: number): number {
  const local = localBytes(length, maxLocal);
  return local === length ? length : local + 4;
}

/**
 * Writes a payload into a cell at `at` (the local part, then the number of its first overflow
 * page), writing the rest into newly allocated overflow pages; returns the end in the cell.
 */
export function putSpilledPayload(
  store: PageStore,
  cell: Buffer,
  at: number,
  payload: Uint8Array,
  maxLocal: number,
): number {
  const local = localBytes(payload.length, maxLocal);
  cell.set(payload.subarray(0, local), at);
  let p = at + local;
  if (local === payload.length) return p;
  let from = local;
  let link = p; // where the next page's number goes
  let linkPage = cell;
  p += 4;
  while (from < payload.length) {
    const n = store.allocate();
    linkPage.writeUInt32BE(n, link);
    const page = store.page(n);
    const take = Math.min(OVERFLOW_DATA, payload.length - from);
    page.set(payload.subarray(from, from + take), 4);
    from += take;
    linkPage = page;
    link = 0;
  }
  linkPage.writeUInt32BE(0, link);
  return p;
}

/** Bytes of a B-tree page's header: a leaf's, and an interior page's (with its right-most pointer). */
export const LEAF_HEADER = 8;
export const INTERIOR_HEADER = 12;

/** Page types of B-tree pages. */
export const INDEX_INTERIOR = 0x02;
export const TABLE_INTERIOR = 0x05;
export const INDEX_LEAF = 0x0a;
export const TABLE_LEAF = 0x0d;

/**
 * Fills a B-tree page's header (at `hdr`: 100 on page 1, else 0) and cell pointers for cells
 * that were written back to back, the first at the page's end and each next one below it.
 */
export function closeBtreePage(
  page: Buffer,
  hdr: number,
  type: number,
  cellStarts: readonly number[],
  rightChild?: number,
): void {
  page[hdr] = type;
  page.writeUInt16BE(0, hdr + 1); // no freeblocks
  page.writeUInt16BE(cellStarts.length, hdr + 3);
  // Where the cells start (at most the page size, 4 096: never the 65 536 the format writes as 0).
  page.writeUInt16BE(cellStarts.length > 0 ? (cellStarts[cellStarts.length - 1] as number) : PAGE_SIZE, hdr + 5);
  page[hdr + 7] = 0; // no fragments: the cells are contiguous
  const interior = type === TABLE_INTERIOR || type === INDEX_INTERIOR;
  if (interior) page.writeUInt32BE(rightChild ?? 0, hdr + LEAF_HEADER);
  let ptr = hdr + (interior ? INTERIOR_HEADER : LEAF_HEADER);
  for (const s of cellStarts) {
    page.writeUInt16BE(s, ptr);
    ptr += 2;
  }
}
