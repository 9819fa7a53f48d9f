/**
 * A SQLite database file written in one go (https://www.sqlite.org/fileformat2.html §1.3, §2.6):
 * trees are built into the page store by btree.ts, each registered here with its root page; then
 * page 1 gets the 100-byte header and the schema table. The result is an ordinary rollback-journal
 * database, UTF-8, schema format 4, no free pages.
 */
import { LEAF_HEADER, PAGE_SIZE, PageStore, TABLE_LEAF, closeBtreePage } from './pages.js';
import { layoutRecord, putRecord, putVarint, varintLength, type SqlValue } from './record.js';

export interface SchemaObject {
  type: 'table' | 'index';
  name: string;
  table: string;
  root: number;
  /** The CREATE statement; null for the index SQLite makes for a PRIMARY KEY or UNIQUE column. */
  sql: string | null;
}

/** The version of SQLite the file says wrote it last (any 3.x reads the format). */
const WRITER_VERSION = 3_045_000;
const HEADER = 100;

export class SqliteFileWriter {
  readonly store = new PageStore();
  private readonly objects: SchemaObject[] = [];

  constructor() {
    this.store.allocate(); // page 1: header and schema, written last
  }

  /** Registers a table or index whose tree is in the store. */
  add(object: SchemaObject): void {
    this.objects.push(object);
  }

  /** Writes page 1 and returns the file's bytes, in chunks. */
  finish(options: { userVersion?: number } = {}): Buffer[] {
    const page = this.store.page(1);
    const starts: number[] = [];
    let top = PAGE_SIZE;
    this.objects.forEach((o, i) => {
      const values: SqlValue[] = [o.type, o.name, o.table, o.root, o.sql];
      const layout = layoutRecord(values);
      const rowid = i + 1;
      const size = varintLength(layout.length) + varintLength(rowid) + layout.length;
      if (HEADER + LEAF_HEADER + 2 * (starts.length + 1) > top - size)
        throw new Error('the schema does not fit on the first page');
      top -= size;
      putRecord(page, putVarint(page, putVarint(page, top, layout.length), rowid), values, layout);
      starts.push(top);
    });
    closeBtreePage(page, HEADER, TABLE_LEAF, starts);
    writeHeader(page, this.store.count, this.objects.length, options.userVersion ?? 0);
    return this.store.chunks();
  }
}

function writeHeader(page: Buffer, pages: number, schemaCookie: number, userVersion: number): void {
  page.write('SQLite format 3\0', 0, 'latin1');
  page.writeUInt16BE(PAGE_SIZE, 16);
  page[18] = 1; // write and read versions: rollback journal
  page[19] = 1;
  page[20] = 0; // no reserved bytes at the end of a page
  page[21] = 64; // payload fractions, fixed by the format
  page[22] = 32;
  page[23] = 32;
  page.writeUInt32BE(1, 24); // change counter
  page.writeUInt32BE(pages, 28);
  page.writeUInt32BE(0, 32); // no freelist
  page.writeUInt32BE(0, 36);
  page.writeUInt32BE(Math.max(1, schemaCookie), 40);
  page.writeUInt32BE(4, 44); // schema format
  page.writeUInt32BE(0, 48);
  page.writeUInt32BE(0, 52); // no auto-vacuum
  page.writeUInt32BE(1, 56); // UTF-8
  page.writeUInt32BE(userVersion, 60);
  page.writeUInt32BE(0, 64);
  page.writeUInt32BE(0, 68);
  page.fill(0, 72, 92);
  page.writeUInt32BE(1, 92); // the change counter the page count is valid for
  page.writeUInt32BE(WRITER_VERSION, 96);
}
