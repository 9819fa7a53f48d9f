import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { BackupEntry } from '../../../src/backup/browse.js';
import { liveTempDirs } from '../../../src/backup/temp.js';
import { hasCode } from '../../../src/errors.js';
import { OutputFolder, plainName } from '../../../src/export/output.js';
import { openBackupDb, type ExportSource } from '../../../src/export/source.js';

/** A backup-like source holding the given files of HomeDomain. */
function sourceOf(dir: string, files: Record<string, string>): ExportSource {
  const entries: BackupEntry[] = Object.entries(files).map(([relativePath, blobPath], i) => ({
    domain: 'HomeDomain',
    relativePath,
    fileID: String(i),
    type: 'file',
    size: 0,
    mode: 0o100644,
    mtime: null,
    protectionClass: 3,
    blobPath,
    source: { row: {} as never },
  }));
  return {
    dir,
    *entries() {
      yield* entries;
    },
    async *chunks(e) {
      const { readFile } = await import('node:fs/promises');
      yield new Uint8Array(await readFile(e.blobPath as string));
    },
  };
}

const FILE = { domain: 'HomeDomain', relativePath: 'Library/Test/test.db' };

describe('databases out of a backup', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ibackup-source-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the -wal is applied: rows still only in the write-ahead log are read', async () => {
    const live = path.join(dir, 'live.db');
    const db = new Database(live);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (v TEXT)');
    db.pragma('wal_checkpoint(TRUNCATE)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < 25; i++) insert.run(`row ${i}`);
    // Copied while the connection is open: the 25 rows are only in the -wal.
    for (const s of ['', '-wal', '-shm']) copyFileSync(`${live}${s}`, path.join(dir, `copy.db${s}`));
    db.close();
    const withWal = sourceOf(dir, {
      [FILE.relativePath]: path.join(dir, 'copy.db'),
      [`${FILE.relativePath}-wal`]: path.join(dir, 'copy.db-wal'),
      [`${FILE.relativePath}-shm`]: path.join(dir, 'copy.db-shm'),
    });
    const opened = await openBackupDb(withWal, FILE, 'test database', dir);
    assert.equal((opened.db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 25);
    assert.throws(() => opened.db.exec("INSERT INTO t (v) VALUES ('x')"), /readonly|query_only|attempt to write/i);
    opened.close();
    const without = await openBackupDb(
      sourceOf(dir, { [FILE.relativePath]: path.join(dir, 'copy.db') }),
      FILE,
      'test',
      dir,
    );
    assert.equal((without.db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 0);
    without.close();
    assert.deepEqual(liveTempDirs(), [], 'the private copies are removed');
    assert.ok(!readdirSync(dir).some((n) => n.startsWith('ibackup-export-')));
    assert.ok(existsSync(path.join(dir, 'copy.db-wal')), 'the source is left as it was');
  });

  test('a file that is not SQLite is SCHEMA_UNKNOWN; an absent one EXPORT_SOURCE_MISSING; no copy left', async () => {
    writeFileSync(path.join(dir, 'junk.db'), 'this is not a database, only text that is long enough '.repeat(100));
    await assert.rejects(
      openBackupDb(sourceOf(dir, { [FILE.relativePath]: path.join(dir, 'junk.db') }), FILE, 'test', dir),
      (e: unknown) => hasCode(e, 'SCHEMA_UNKNOWN'),
    );
    await assert.rejects(openBackupDb(sourceOf(dir, {}), FILE, 'test', dir), (e: unknown) =>
      hasCode(e, 'EXPORT_SOURCE_MISSING'),
    );
    assert.deepEqual(liveTempDirs(), []);
  });
});

describe('names from the data', () => {
  test('become one plain file name', () => {
    const cases: [string, string][] = [
      ['../../etc/passwd', '_.._etc_passwd'],
      ['/absolute/name.jpg', '_absolute_name.jpg'],
      ['a\u0000b\nc', 'a_b_c'],
      ['..', 'unnamed'],
      ['', 'unnamed'],
      ['CON', '_CON'],
      ['notes: "x" <y>?', 'notes_ _x_ _y__'],
      ['Café 😀.html', 'Café 😀.html'],
    ];
    for (const [raw, want] of cases) assert.equal(plainName(raw), want, raw);
    const long = plainName(`${'é'.repeat(300)}.jpeg`);
    assert.ok([...long].length <= 120 && long.endsWith('.jpeg'));
  });

  test('an output folder keeps every name inside it and unique', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ibackup-out-'));
    try {
      const out = await OutputFolder.create(path.join(root, 'a', 'b'));
      assert.throws(
        () => out.resolve('..', 'x'),
        (e: unknown) => hasCode(e, 'UNSAFE_PATH'),
      );
      assert.throws(
        () => out.resolve('/etc/passwd'),
        (e: unknown) => hasCode(e, 'UNSAFE_PATH'),
      );
      assert.deepEqual(
        ['IMG.jpeg', 'img.jpeg', 'IMG.jpeg'].map((n) => out.unique(n)),
        ['IMG.jpeg', 'img (2).jpeg', 'IMG (3).jpeg'],
      );
      await out.write('x.txt', 'hello');
      assert.deepEqual(readdirSync(path.join(root, 'a', 'b')), ['x.txt'], 'no temporary file left');
      writeFileSync(path.join(root, 'file'), 'a file, not a folder');
      await assert.rejects(OutputFolder.create(path.join(root, 'file', 'sub')), (e: unknown) =>
        hasCode(e, 'FILE_ACCESS'),
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
