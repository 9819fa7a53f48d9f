import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { DeviceContent, type DeviceEntry } from '../../../src/emulator/content/index.js';
import {
  ManifestDbBuilder,
  fileIdOf,
  manifestRow,
} from '../../../src/emulator/services/mobilebackup2/manifest-writer.js';
import { TableTreeWriter, indexTreeSteps, writeIndexTree } from '../../../src/emulator/sqlite/btree.js';
import { SqliteFileWriter } from '../../../src/emulator/sqlite/database.js';
import { groupedOrder, textOrder, textOrderSteps } from '../../../src/emulator/sqlite/order.js';
import { putVarint, varintLength, type SqlValue } from '../../../src/emulator/sqlite/record.js';

/** A table `t(k, v)` with rows 1..n, indexed on k by our writer when `indexed`. */
function build(rows: readonly [SqlValue, SqlValue][], indexed: boolean): Buffer {
  const f = new SqliteFileWriter();
  const t = new TableTreeWriter(f.store);
  rows.forEach((r, i) => t.append(i + 1, r));
  f.add({ type: 'table', name: 't', table: 't', root: t.finish(), sql: 'CREATE TABLE t (k, v)' });
  if (indexed) {
    const keys = rows.map((r) => r[0] as string | number);
    const order = keys.every((k) => typeof k === 'string') ? textOrder(keys as string[]) : groupedOrder(keys);
    f.add({
      type: 'index',
      name: 'tk',
      table: 't',
      root: writeIndexTree(f.store, { order, keys }),
      sql: 'CREATE INDEX tk ON t(k)',
    });
  }
  return Buffer.concat(f.finish({ userVersion: 7 }));
}

function open(bytes: Buffer): Database.Database {
  return new Database(bytes);
}

function check(db: Database.Database): void {
  assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
}

/** UTF-8 byte order, then position: what SQLite's BINARY collation gives an index. */
function referenceOrder(keys: readonly string[]): number[] {
  const bytes = keys.map((k) => Buffer.from(k, 'utf8'));
  return keys.map((_, i) => i).sort((a, b) => Buffer.compare(bytes[a] as Buffer, bytes[b] as Buffer) || a - b);
}

describe('emulator SQLite writer', () => {
  test('varints: lengths and bytes at every 7-bit boundary', () => {
    for (let bits = 0; bits <= 53; bits++) {
      for (const v of [2 ** bits - 1, 2 ** bits].filter((x) => x < 2 ** 53)) {
        const buf = Buffer.alloc(10);
        const end = putVarint(buf, 0, v);
        assert.equal(end, varintLength(v), `length of ${v}`);
        let back = 0;
        for (let i = 0; i < end; i++) back = back * 128 + ((buf[i] as number) & 0x7f);
        assert.equal(back, v);
        for (let i = 0; i < end - 1; i++) assert.ok((buf[i] as number) & 0x80);
        assert.equal((buf[end - 1] as number) & 0x80, 0);
      }
    }
  });

  test('every value type SQLite reads back as written, with the header fields set', () => {
    const ints = [
      0,
      1,
      -1,
      2,
      127,
      128,
      -128,
      -129,
      32767,
      32768,
      -32769,
      2 ** 23,
      -(2 ** 23) - 1,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 47,
      -(2 ** 47) - 1,
      2 ** 53 - 1,
      -(2 ** 53) + 1,
    ];
    const values: SqlValue[] = [
      ...ints,
      0.5,
      -1e300,
      Math.PI,
      null,
      '',
      'a',
      'Résumé 😀',
      'x'.repeat(31),
      'x'.repeat(32),
      'é'.repeat(40),
      '\u0000in\u0000side',
      new Uint8Array(0),
      new Uint8Array([0, 255, 1]),
    ];
    const db = open(
      build(
        values.map((v, i) => [i, v]),
        false,
      ),
    );
    try {
      check(db);
      assert.deepEqual(db.pragma('user_version'), [{ user_version: 7 }]);
      assert.equal(db.pragma('encoding', { simple: true }), 'UTF-8');
      assert.equal(db.pragma('page_size', { simple: true }), 4096);
      const got = db.prepare('SELECT rowid, k, v FROM t ORDER BY rowid').all() as {
        rowid: number;
        k: number;
        v: unknown;
      }[];
      assert.equal(got.length, values.length);
      got.forEach((r, i) => {
        assert.equal(r.rowid, i + 1);
        const want = values[i];
        if (want instanceof Uint8Array) assert.deepEqual(new Uint8Array(r.v as Buffer), want);
        else assert.equal(r.v, want, `value ${i}`);
      });
    } finally {
      db.close();
    }
  });

  test('rows too big for a page spill into overflow chains, at every threshold', () => {
    const sizes = [
      0, 1, 4000, 4050, 4055, 4056, 4057, 4060, 4061, 4062, 4092, 4093, 4096, 5000, 8183, 8184, 8185, 12_000, 100_000,
      1_000_000,
    ];
    const rows: [SqlValue, SqlValue][] = sizes.map((n, i) => [i, new Uint8Array(n).map((_, j) => (j * 31 + i) & 0xff)]);
    const db = open(build(rows, false));
    try {
      check(db);
      const got = db.prepare('SELECT v FROM t ORDER BY rowid').all() as { v: Buffer }[];
      got.forEach((r, i) => assert.deepEqual(new Uint8Array(r.v), rows[i]?.[1]));
    } finally {
      db.close();
    }
  });

  test('tables of 0 to 3 levels, and one too many rowids refused', () => {
    for (const n of [0, 1, 2, 50, 400, 3000]) {
      const rows: [SqlValue, SqlValue][] = Array.from({ length: n }, (_, i) => [i, 'v'.repeat(900 + (i % 7))]);
      const db = open(build(rows, false));
      try {
        check(db);
        assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, n);
        if (n > 0) assert.equal((db.prepare('SELECT k FROM t WHERE rowid = ?').get(n) as { k: number }).k, n - 1);
      } finally {
        db.close();
      }
    }
    const t = new TableTreeWriter(new SqliteFileWriter().store);
    t.append(5, [1]);
    assert.throws(() => t.append(5, [2]), /rowid 5 does not follow 5/);
  });

  test('index trees of every shape: each count with small, page-filling and overflowing keys', () => {
    for (const width of [8, 950, 1100, 3000]) {
      const counts = width === 8 ? [0, 1, 2, 500, 2000] : Array.from({ length: width === 950 ? 120 : 30 }, (_, i) => i);
      for (const n of counts) {
        // Descending keys, so the index order is not the rowid order.
        const rows: [SqlValue, SqlValue][] = Array.from({ length: n }, (_, i) => [
          `${String(n - i).padStart(6, '0')}${'k'.repeat(width)}`,
          i,
        ]);
        const db = open(build(rows, true));
        try {
          check(db);
          const viaIndex = db.prepare('SELECT v FROM t INDEXED BY tk ORDER BY k').all() as { v: number }[];
          assert.deepEqual(
            viaIndex.map((r) => r.v),
            rows.map((_, i) => n - 1 - i),
            `width ${width}, ${n} rows`,
          );
        } finally {
          db.close();
        }
      }
    }
  });

  test('an index over a shared integer or text key orders ties by rowid', () => {
    const rows: [SqlValue, SqlValue][] = Array.from({ length: 3000 }, (_, i) => [
      [4, 1, 2, 0, -7, 2 ** 40][i % 6] as number,
      i,
    ]);
    const db = open(build(rows, true));
    try {
      check(db);
      const got = db.prepare('SELECT k, rowid AS r FROM t INDEXED BY tk ORDER BY k, rowid').all() as {
        k: number;
        r: number;
      }[];
      assert.equal(got.length, 3000);
    } finally {
      db.close();
    }
  });

  test('text order is UTF-8 byte order for any keys (property), also with long shared prefixes and hex ids', () => {
    const key = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.string({ unit: 'grapheme', maxLength: 6 }),
      fc.stringMatching(/^[0-9a-f]{4}$/),
    );
    fc.assert(
      fc.property(
        fc.array(key, { maxLength: 300 }),
        fc.constantFrom('', 'Library/Caches/com.example/'),
        (keys, prefix) => {
          const all = keys.map((k) => prefix + k);
          assert.deepEqual(textOrder(all), referenceOrder(all));
        },
      ),
      { numRuns: 200 },
    );
    const random = Array.from({ length: 5000 }, (_, i) =>
      ((i * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(5),
    );
    assert.deepEqual(textOrder(random), referenceOrder(random));
    const sorted = random.slice().sort();
    assert.deepEqual(textOrder(sorted), referenceOrder(sorted));
    // Mostly in order, so merge-sorted, with runs to merge across the 2 048-key chunks.
    const nearly = sorted.slice();
    for (let i = 0; i < 30; i++) {
      const a = (i * 7919) % nearly.length;
      const b = (i * 104_729 + 17) % nearly.length;
      [nearly[a], nearly[b]] = [nearly[b] as string, nearly[a] as string];
    }
    assert.deepEqual(textOrder(nearly), referenceOrder(nearly));
  });

  test('sorting and index building go in steps: many short slices, the same result', () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => ((i * 2654435761) >>> 0).toString(16));
    const steps = textOrderSteps(keys);
    let slices = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) slices++;
    assert.ok(slices >= 10, `${slices} slices`);
    assert.deepEqual(r.value, referenceOrder(keys));
    const f = new SqliteFileWriter();
    const t = new TableTreeWriter(f.store);
    keys.forEach((k, i) => t.append(i + 1, [k]));
    f.add({ type: 'table', name: 't', table: 't', root: t.finish(), sql: 'CREATE TABLE t (k)' });
    const tree = indexTreeSteps(f.store, { order: r.value, keys });
    let treeSlices = 0;
    let root = tree.next();
    for (; !root.done; root = tree.next()) treeSlices++;
    assert.ok(treeSlices >= 10, `${treeSlices} slices`);
    f.add({ type: 'index', name: 'tk', table: 't', root: root.value, sql: 'CREATE INDEX tk ON t(k)' });
    const db = open(Buffer.concat(f.finish()));
    try {
      check(db);
    } finally {
      db.close();
    }
  });

  test('lone surrogates sort as the U+FFFD they are written as', () => {
    const keys = [
      '\ud800',
      '\uffff',
      '\ufffd',
      '\ud83d\ude00',
      '\ue000',
      'a\udc00b',
      ...Array.from({ length: 40 }, (_, i) => `\ufffd${i}`),
    ];
    const written = keys.map((k) => Buffer.from(k, 'utf8').toString('utf8'));
    assert.deepEqual(textOrder(keys), referenceOrder(written));
    const db = open(
      build(
        keys.map((k, i) => [k, i]),
        true,
      ),
    );
    try {
      check(db);
    } finally {
      db.close();
    }
  });

  test('random text keys of any length build an index SQLite accepts (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 700 }), { maxLength: 60 }), (keys) => {
        const db = open(
          build(
            keys.map((k, i) => [k, i]),
            true,
          ),
        );
        try {
          check(db);
          const got = db.prepare('SELECT v FROM t INDEXED BY tk ORDER BY k').all() as { v: number }[];
          const written = keys.map((k) => Buffer.from(k, 'utf8').toString('utf8'));
          assert.deepEqual(
            got.map((r) => r.v),
            referenceOrder(written),
          );
        } finally {
          db.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  test('the sqlite3 program finds the file sound too', (t) => {
    let version: string;
    try {
      version = execFileSync('sqlite3', ['-version'], { encoding: 'utf8' });
    } catch {
      if (process.env.CI) assert.fail('sqlite3 is missing: install the sqlite3 package');
      t.skip('sqlite3 is not installed (apt install sqlite3)');
      return;
    }
    assert.ok(version.startsWith('3.'));
    const dir = mkdtempSync(join(tmpdir(), 'ibackup-sqlite-'));
    try {
      const path = join(dir, 'x.db');
      writeFileSync(
        path,
        build(
          Array.from({ length: 2000 }, (_, i) => [`key ${(i * 7919) % 2000} ${'p'.repeat(i % 1500)}`, i]),
          true,
        ),
      );
      assert.equal(execFileSync('sqlite3', [path, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim(), 'ok');
      const count = (how: string): string =>
        execFileSync('sqlite3', [path, `SELECT count(*) FROM t ${how} WHERE k >= 'key 15';`], {
          encoding: 'utf8',
        }).trim();
      assert.equal(count('INDEXED BY tk'), count('NOT INDEXED'));
      assert.ok(Number(count('INDEXED BY tk')) > 1000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('emulator Manifest.db', () => {
  test('has the schema SQLite makes from the same statements, and every row of the device', () => {
    const content = DeviceContent.build({ seed: 11, files: 1500, bytes: 1 << 20, hugeFiles: [] });
    const builder = new ManifestDbBuilder();
    const entries = [...content.entries()];
    for (const e of entries) builder.add({ entry: e, fileId: fileIdOf(e.domain, e.relativePath) });
    assert.equal(builder.work(100), true);
    builder.seal();
    assert.throws(() => builder.add({ entry: entries[0] as DeviceEntry, fileId: 'b'.repeat(40) }), /sealed/);
    // Rows, then the indexes, a slice at a time; what is left is done by finish.
    let slices = 0;
    while (builder.work(100)) slices++;
    assert.ok(slices > entries.length / 100, `${slices} slices`);
    assert.equal(builder.work(100), false);
    const db = open(Buffer.concat(builder.finish()));
    const reference = new Database(':memory:');
    try {
      check(db);
      reference.exec(`CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB);
        CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);
        CREATE INDEX FilesDomainIdx ON Files(domain); CREATE INDEX FilesRelativePathIdx ON Files(relativePath); CREATE INDEX FilesFlagsIdx ON Files(flags);`);
      const schema = (d: Database.Database): unknown[] =>
        d.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid').all();
      assert.deepEqual(schema(db), schema(reference));
      assert.deepEqual(db.pragma('user_version'), [{ user_version: 2 }]);
      const rows = db.prepare('SELECT fileID, domain, relativePath, flags, file FROM Files ORDER BY rowid').all() as {
        fileID: string;
        domain: string;
        relativePath: string;
        flags: number;
        file: Buffer;
      }[];
      assert.equal(rows.length, entries.length);
      rows.forEach((r, i) => {
        const want = manifestRow(entries[i] as DeviceEntry);
        assert.deepEqual(
          { ...r, file: new Uint8Array(r.file) },
          {
            fileID: want.fileId,
            domain: want.domain,
            relativePath: want.relativePath,
            flags: want.flags,
            file: want.file,
          },
        );
      });
      const d = entries[entries.length - 1] as DeviceEntry;
      const plan = db
        .prepare('EXPLAIN QUERY PLAN SELECT fileID FROM Files WHERE domain = ? AND relativePath = ?')
        .all(d.domain, d.relativePath) as { detail: string }[];
      assert.match(plan.map((p) => p.detail).join(' '), /USING INDEX/);
      assert.equal(
        (db.prepare('SELECT count(*) AS n FROM Files WHERE flags = 2').get() as { n: number }).n,
        entries.filter((e) => e.kind === 'directory').length,
      );
    } finally {
      db.close();
      reference.close();
    }
  });

  test('two rows with one fileID are refused, as the PRIMARY KEY would', () => {
    const content = DeviceContent.build({ seed: 3, files: 20, bytes: 1 << 16, hugeFiles: [] });
    const e = [...content.entries()].find((x) => x.kind === 'file') as DeviceEntry;
    const builder = new ManifestDbBuilder();
    builder.add({ entry: e, fileId: 'a'.repeat(40) });
    builder.add({ entry: e, fileId: 'a'.repeat(40) });
    assert.throws(() => builder.finish(), /two Manifest.db rows have the fileID a{40}/);
  });
});
