import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { hasCode } from '../../../src/errors.js';
import { ManifestDb } from '../../../src/backup/manifest-db.js';
import {
  blobPathOf,
  expectedFileID,
  globToRegExp,
  unsafeRelativePathReason,
} from '../../../src/backup/manifest-rows.js';
import { encodeMBFile } from '../../../src/protocol/nskeyed.js';
import { buildBackup, tempRoot, writeManifestDb } from '../../support/backup-fixtures.js';

const { root, cleanup } = tempRoot();
after(cleanup);

describe('fileID and paths', () => {
  test('fileID = SHA-1 of "domain-relativePath" (backup-format.md §5.2 examples)', () => {
    assert.equal(expectedFileID('HomeDomain', 'Library/SMS/sms.db'), '3d0d7e5fb2ce288813306e4d4636395e047a3d28');
    assert.equal(
      expectedFileID('HomeDomain', 'Library/AddressBook/AddressBook.sqlitedb'),
      '31bb7ba8914766d4ba40d6dfb6113c8b614be442',
    );
    assert.equal(
      expectedFileID('HomeDomain', 'Library/CallHistoryDB/CallHistory.storedata'),
      '5a4935c78a5255723f707230a451d79c540d2741',
    );
  });

  test('blob paths only for 40 lower-case hex fileIDs', () => {
    assert.equal(
      blobPathOf('/b', '3d0d7e5fb2ce288813306e4d4636395e047a3d28'),
      path.join('/b', '3d', '3d0d7e5fb2ce288813306e4d4636395e047a3d28'),
    );
    for (const bad of [
      '../../etc/passwd',
      '3D0D7E5FB2CE288813306E4D4636395E047A3D28',
      '',
      '3d0d7e5fb2ce288813306e4d4636395e047a3d2',
      `${'a'.repeat(39)}/`,
    ]) {
      assert.equal(blobPathOf('/b', bad), undefined, bad);
    }
  });

  test('unsafe relative paths', () => {
    for (const ok of ['', 'Library/SMS/sms.db', '..foo/bar', 'a/..b', 'Media/DCIM/100APPLE/IMG_0001.HEIC'])
      assert.equal(unsafeRelativePathReason(ok), undefined, ok);
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', 'a/..', 'a\\b', 'C:x', 'a\0b'])
      assert.ok(unsafeRelativePathReason(bad), bad);
  });

  test('globs are case-sensitive; * stays in a segment, ** crosses them', () => {
    const g = (p: string, s: string): boolean => globToRegExp(p).test(s);
    assert.ok(g('HomeDomain/Library/SMS/*.db', 'HomeDomain/Library/SMS/sms.db'));
    assert.ok(!g('HomeDomain/Library/SMS/*.db', 'HomeDomain/Library/SMS/x/sms.db'));
    assert.ok(!g('HomeDomain/library/**', 'HomeDomain/Library/SMS/sms.db'));
    assert.ok(g('HomeDomain/**', 'HomeDomain/Library/SMS/sms.db'));
    assert.ok(g('**/sms.db', 'HomeDomain/Library/SMS/sms.db'));
    assert.ok(g('HomeDomain/**/sms.db', 'HomeDomain/sms.db'));
    assert.ok(g('AppDomain-*/Documents/?otes.txt', 'AppDomain-com.example.app/Documents/notes.txt'));
    assert.ok(g('*/[Ll]ibrary', 'HomeDomain/Library'));
    assert.ok(!g('*/[!L]ibrary', 'HomeDomain/Library'));
    assert.ok(g('a\\*b', 'a*b') && !g('a\\*b', 'axb'));
    assert.ok(g('x.(y)+', 'x.(y)+') && !g('x.(y)+', 'xx(y)+'));
    assert.ok(g('[', '[') && g('a[b', 'a[b'));
  });
});

describe('ManifestDb', () => {
  const built = buildBackup(path.join(root, 'db'));
  const dbPath = path.join(built.dir, 'Manifest.db');

  test('iterate, filter, find, get, counts, domains', () => {
    const db = ManifestDb.open(dbPath, { backupDir: built.dir });
    try {
      assert.equal(db.source, 'direct');
      const all = [...db.iterate()];
      assert.equal(all.length, 12);
      const sms = all.find((r) => r.relativePath === 'Library/SMS/sms.db');
      assert.equal(sms?.fileID, '3d0d7e5fb2ce288813306e4d4636395e047a3d28');
      assert.equal(sms?.blobPath, path.join(built.dir, '3d', '3d0d7e5fb2ce288813306e4d4636395e047a3d28'));
      assert.equal(sms?.file?.size, 70_000);
      assert.equal(sms?.file?.digest?.length, 20);
      assert.equal([...db.iterate({ domain: 'DatabaseDomain' })].length, 2);
      // In the table's order: the same rows, each as the ordered walk gives it.
      const key = (r: { domain: string; relativePath: string }): string => `${r.domain}\u0000${r.relativePath}`;
      const sorted = (rows: typeof all): typeof all =>
        [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      assert.deepEqual(sorted([...db.iterate({ unordered: true })]), sorted(all));
      assert.deepEqual(
        [...db.iterate({ flags: 4 })].map((r) => r.file?.target),
        ['/usr/share/zoneinfo/Europe/Paris'],
      );
      assert.deepEqual(
        [...db.find('HomeDomain/Library/Preferences/*')].map((r) => r.relativePath),
        ['Library/Preferences/com.apple.SpringBoard.plist', 'Library/Preferences/com.apple.springboard.plist'],
      );
      assert.deepEqual([...db.find('**/com.apple.springboard.plist')].length, 1);
      assert.deepEqual(
        [...db.find(undefined, { domain: 'AppDomain-*' })].map((r) => r.relativePath),
        ['', 'Documents/notes.txt'],
      );
      assert.equal(db.get('HomeDomain', 'library/sms/sms.db'), undefined);
      assert.equal(db.getByFileID('3d0d7e5fb2ce288813306e4d4636395e047a3d28')?.relativePath, 'Library/SMS/sms.db');
      assert.deepEqual(db.counts(), { rows: 12, files: 6, directories: 5, symlinks: 1, other: 0 });
      assert.deepEqual(db.domains(), ['AppDomain-com.example.app', 'DatabaseDomain', 'HomeDomain']);
      assert.equal(db.properties().size, 0);
    } finally {
      db.close();
    }
  });

  test('hostile rows are returned with their problems, iteration goes on', () => {
    const file = path.join(root, 'hostile.db');
    writeManifestDb(file, [['aa'.repeat(20), 'HomeDomain', 'ok', 2, encodeMBFile({ relativePath: 'ok' })]], false);
    const raw = new Database(file);
    raw.prepare('INSERT INTO Files VALUES (?, ?, ?, ?, ?)').run(null, Buffer.from('Dom'), 'x', 'one', 'text not blob');
    raw
      .prepare('INSERT INTO Files VALUES (?, ?, ?, ?, ?)')
      .run('bb'.repeat(20), 'HomeDomain', 'y', 1, Buffer.from('bplist00garbage'));
    raw.prepare('INSERT INTO Files VALUES (?, ?, ?, ?, ?)').run('cc'.repeat(20), 'HomeDomain', 'z', 1, null);
    raw.close();
    const db = ManifestDb.open(file, { backupDir: '/b' });
    try {
      const rows = [...db.iterate()];
      assert.equal(rows.length, 4);
      const bad = rows.find((r) => r.relativePath === 'x');
      assert.deepEqual(bad?.columnProblems, [
        'fileID is NULL',
        'domain is a BLOB, not TEXT',
        'flags is a string, not an INTEGER',
      ]);
      assert.equal(bad?.blobPath, undefined);
      assert.equal(bad?.fileError, 'the file record is not a BLOB');
      assert.match(rows.find((r) => r.relativePath === 'y')?.fileError ?? '', /Malformed/);
      assert.equal(rows.find((r) => r.relativePath === 'z')?.fileError, 'the file record is missing');
      assert.equal(rows.find((r) => r.relativePath === 'ok')?.file?.relativePath, 'ok');
      assert.equal(db.counts().other, 1);
    } finally {
      db.close();
    }
  });

  test('not SQLite, no Files table, missing columns → BACKUP_CORRUPT', () => {
    const notDb = path.join(root, 'not.db');
    writeFileSync(notDb, new Uint8Array(4096).fill(7));
    assert.throws(
      () => ManifestDb.open(notDb),
      (e) => hasCode(e, 'BACKUP_CORRUPT'),
    );
    const noFiles = path.join(root, 'nofiles.db');
    new Database(noFiles).exec('CREATE TABLE Other (a)').close();
    assert.throws(
      () => ManifestDb.open(noFiles),
      (e) => hasCode(e, 'BACKUP_CORRUPT') && /no Files table/.test(e.message),
    );
    const fewCols = path.join(root, 'fewcols.db');
    new Database(fewCols).exec('CREATE TABLE Files (fileID TEXT, domain TEXT)').close();
    assert.throws(
      () => ManifestDb.open(fewCols),
      (e) => hasCode(e, 'BACKUP_CORRUPT') && /relativePath, flags, file/.test(e.message),
    );
    const truncated = path.join(root, 'trunc.db');
    writeFileSync(truncated, new TextEncoder().encode('SQLite format 3\0'));
    assert.throws(
      () => ManifestDb.open(truncated),
      (e) => hasCode(e, 'BACKUP_CORRUPT'),
    );
    assert.throws(
      () => ManifestDb.fromPlaintext(new Uint8Array(100)),
      (e) => hasCode(e, 'BACKUP_CORRUPT'),
    );
  });
});
