import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hasCode } from '../../../src/errors.js';
import { openBackup } from '../../../src/backup/open.js';
import { liveTempDirs } from '../../../src/backup/temp.js';
import { buildBackup, tempRoot } from '../../support/backup-fixtures.js';
import type { BuiltBackup } from '../../support/backup-fixtures.js';

const { root, cleanup } = tempRoot();
after(cleanup);

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      out.push(`${path.relative(dir, p)}:${statSync(p).size}:${statSync(p).mtimeMs}`);
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

async function checkContents(built: BuiltBackup, password?: string): Promise<void> {
  const before = listing(built.dir);
  const b = await openBackup(built.dir, password === undefined ? {} : { password });
  try {
    assert.equal(b.isEncrypted, password !== undefined);
    assert.equal(b.warnings.length, 0, JSON.stringify(b.warnings));
    assert.equal(b.info?.deviceName, 'Test iPhone');
    assert.equal(b.manifest?.lockdown?.uniqueDeviceId, built.udid);
    assert.equal(b.status?.snapshotState, 'finished');
    const counts = b.db.counts();
    assert.deepEqual(counts, { rows: 12, files: 6, directories: 5, symlinks: 1, other: 0 });
    for (const [i, e] of built.entries.entries()) {
      const row = b.db.get(e.domain, e.relativePath);
      assert.ok(row, `${e.domain}/${e.relativePath}`);
      assert.equal(row.fileID, built.fileIDs[i]);
      assert.equal(row.kind, e.kind);
      if (e.kind === 'symlink') assert.equal(row.file?.target, e.target);
      if (e.kind !== 'file') continue;
      const got = await b.readFile(row);
      assert.deepEqual(got, e.content ?? new Uint8Array(0), `${e.relativePath} content`);
      // The stream form gives the same bytes.
      const parts: Uint8Array[] = [];
      for await (const c of b.fileStream(row)) parts.push(c as Uint8Array);
      assert.deepEqual(new Uint8Array(Buffer.concat(parts)), got);
    }
    // Case-sensitive lookups: both spellings exist.
    assert.equal(
      b.db.get('HomeDomain', 'Library/Preferences/com.apple.SpringBoard.plist')?.relativePath,
      'Library/Preferences/com.apple.SpringBoard.plist',
    );
  } finally {
    b.close();
  }
  assert.deepEqual(listing(built.dir), before, 'nothing written into the backup');
}

describe('openBackup', () => {
  test('plain backup: plists, rows and file contents', async () => {
    await checkContents(buildBackup(path.join(root, 'plain')));
  });

  test('plain backup with the WAL flag and a -wal file: read from a private copy, nothing written beside it', async () => {
    const built = buildBackup(path.join(root, 'wal'), { wal: true });
    await checkContents(built);
    writeFileSync(path.join(built.dir, 'Manifest.db-wal'), new Uint8Array(0));
    await checkContents(built);
    assert.equal(existsSync(path.join(built.dir, 'Manifest.db-shm')), false);
    assert.deepEqual(liveTempDirs(), []);
  });

  test('encrypted backup: password opens it, files decrypt to the original bytes', async () => {
    await checkContents(buildBackup(path.join(root, 'enc'), { password: 'secret pw' }), 'secret pw');
  });

  test('encrypted backup with Manifest.db decrypted into a private temp folder, removed on close', async () => {
    const built = buildBackup(path.join(root, 'enc-temp'), { password: 'pw' });
    const b = await openBackup(built.dir, { password: 'pw', manifestDb: 'temp' });
    assert.equal(b.db.source, 'copy');
    const temps = liveTempDirs();
    assert.equal(temps.length, 1);
    const t = temps[0] as string;
    assert.equal(statSync(t).mode & 0o777, 0o700);
    assert.ok(!t.startsWith(built.dir));
    assert.equal(b.db.counts().files, 6);
    b.close();
    assert.equal(existsSync(t), false);
    assert.deepEqual(liveTempDirs(), []);
  });

  test('derived key (cached KEK) opens the backup without the password', async () => {
    const built = buildBackup(path.join(root, 'enc-kek'), { password: 'pw' });
    const first = await openBackup(built.dir, { password: 'pw' });
    const kek = first.keys?.kek;
    first.close();
    assert.deepEqual(kek, built.kek);
    const b = await openBackup(built.dir, { derivedKey: kek as Uint8Array });
    assert.equal(b.db.counts().rows, 12);
    b.close();
  });

  test('missing password → PASSWORD_REQUIRED; wrong password → WRONG_PASSWORD', async () => {
    const built = buildBackup(path.join(root, 'enc-wrong'), { password: 'right' });
    await assert.rejects(openBackup(built.dir), (e) => hasCode(e, 'PASSWORD_REQUIRED'));
    await assert.rejects(openBackup(built.dir, { password: 'wrong' }), (e) => hasCode(e, 'WRONG_PASSWORD'));
    await assert.rejects(openBackup(built.dir, { derivedKey: new Uint8Array(32) }), (e) =>
      hasCode(e, 'WRONG_PASSWORD'),
    );
  });

  test('not a backup → BACKUP_NOT_FOUND', async () => {
    await assert.rejects(openBackup(path.join(root, 'nothing-here')), (e) => hasCode(e, 'BACKUP_NOT_FOUND'));
  });
});
