/**
 * What changed between two backups (src/backup/version-diff.ts): the fast comparison of raw
 * Manifest.db records gives exactly what comparing decoded entries gives — files added, changed
 * (size, date, mode or link target) and removed; folders left out; records that differ only in
 * what does not count (the phone's inode numbers) are not changes.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { browseBackup } from '../../../src/backup/browse.js';
import { readBackupFolder } from '../../../src/backup/folder.js';
import { diffEntries, diffRecords } from '../../../src/backup/version-diff.js';
import { buildBackup, tempRoot, type FixtureEntry } from '../../support/backup-fixtures.js';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const file = (relativePath: string, content: string, domain = 'HomeDomain'): FixtureEntry => ({
  domain,
  relativePath,
  kind: 'file',
  content: text(content),
});

describe('diff between two versions', () => {
  test('added, changed, removed; raw records and decoded entries agree', async () => {
    const t = tempRoot();
    cleanups.push(t.cleanup);
    const root = path.join(t.root, 'v');
    mkdirSync(root);
    const dir: FixtureEntry = { domain: 'HomeDomain', relativePath: 'Library', kind: 'directory' };
    const older = buildBackup(root, {
      folder: 'a',
      entries: [
        dir,
        file('Library/a.txt', 'one'),
        file('Library/b.txt', 'two'),
        file('Library/c.txt', 'three'),
        { domain: 'HomeDomain', relativePath: 'Library/link', kind: 'symlink', target: '/a' },
      ],
    });
    const newer = buildBackup(root, {
      folder: 'b',
      entries: [
        dir,
        file('Library/0-new.txt', 'brand new'), // shifts every later record's inode number
        file('Library/a.txt', 'one'),
        file('Library/b.txt', 'two, longer now'),
        { domain: 'HomeDomain', relativePath: 'Library/link', kind: 'symlink', target: '/b' },
        file('Documents/d.txt', 'four', 'AppDomain-com.example'),
      ],
    });
    const a = await browseBackup(await readBackupFolder(older.dir), undefined);
    const b = await browseBackup(await readBackupFolder(newer.dir), undefined);
    try {
      assert.ok(a.records && b.records);
      const fast = diffRecords(a.records(), b.records());
      const slow = diffEntries(a.entries(), b.entries());
      assert.deepEqual(fast, slow);
      assert.deepEqual(
        fast.added.map((e) => `${e.domain}/${e.relativePath} ${e.size}`),
        ['AppDomain-com.example/Documents/d.txt 4', 'HomeDomain/Library/0-new.txt 9'],
      );
      assert.deepEqual(
        fast.changed.map((e) => `${e.relativePath} ${e.sizeBefore}→${e.size}`),
        ['Library/b.txt 3→15', 'Library/link 0→0'],
      );
      assert.deepEqual(
        fast.removed.map((e) => e.relativePath),
        ['Library/c.txt'],
      );
    } finally {
      a.close();
      b.close();
    }
  });
});
