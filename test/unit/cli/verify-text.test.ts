import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { verifyBackupAt } from '../../../src/app/verify.js';
import type { VerifyReport } from '../../../src/app/verify.js';
import { emptyCounts } from '../../../src/backup/verify.js';
import { verifyText as coloured } from '../../../src/cli/verify.js';
import { buildBackup, tempRoot } from '../../support/backup-fixtures.js';
import { buildLegacyFixture } from '../../support/legacy-backup-fixtures.js';

/** The report's words without terminal colours (on in CI and on terminals). */
function verifyText(r: VerifyReport): string {
  // eslint-disable-next-line no-control-regex
  return coloured(r).replace(/\x1b\[[0-9;]*m/g, '');
}

const { root, cleanup } = tempRoot();
after(cleanup);
process.env.NO_COLOR = '1';

/** A report as a real partial backup gives it: 1 089 files listed, 10 of them on disk. */
function partialReport(): VerifyReport {
  const counts = {
    ...emptyCounts(),
    rows: 3721,
    files: 1089,
    directories: 2618,
    symlinks: 14,
    filesExpected: 1089,
    filesPresent: 10,
    filesMissing: 1079,
    bytes: 90_000_000,
    blobBytes: 400_000,
    blobsChecked: 10,
    blobsMissing: 1079,
    digestsChecked: 4,
    errors: 1079,
    problemsOmitted: 879,
  };
  return {
    ok: false,
    path: '/b/x',
    format: 'manifest-db',
    device: { udid: 'x', name: 'iPhone', iosVersion: '14.3' },
    date: null,
    encrypted: false,
    passwordChecked: false,
    keySource: 'none',
    counts,
    problems: [
      {
        code: 'BLOB_MISSING',
        message: 'HomeDomain/a: its file 12/12… is missing.',
        path: 'HomeDomain/a',
        severity: 'error',
        meaning: 'gone',
      },
    ],
  };
}

describe('verify in words', () => {
  test('a partial backup: files expected, present and missing, no negative count', () => {
    const text = verifyText(partialReport());
    assert.match(text, /^Index: +3721 Manifest\.db rows: 1089 files, 2618 folders, 14 links$/m);
    assert.match(text, /^Files: +1089 expected: 10 present \(400 KB\), 1079 missing; 4 checksums compared$/m);
    assert.doesNotMatch(text, /-\d/);
    assert.match(text, /NOT RESTORABLE — 1079 errors/);
    assert.match(text, /879 more problems were counted but not listed/);
  });

  test('damaged files are counted among the present ones', () => {
    const r = partialReport();
    r.counts.filesDamaged = 2;
    assert.match(verifyText(r), /10 present \(400 KB, 2 of them damaged\), 1079 missing/);
  });

  test('a Manifest.db backup missing some files, as verify reports it', async () => {
    const b = buildBackup(path.join(root, 'p'));
    const i = b.entries.findIndex((e) => e.relativePath === 'Library/SMS/sms.db');
    rmSync(path.join(b.dir, (b.fileIDs[i] as string).slice(0, 2), b.fileIDs[i] as string));
    const text = verifyText(await verifyBackupAt(b.dir));
    assert.match(text, /^Files: +6 expected: 5 present \(59 bytes\), 1 missing; 2 checksums compared$/m);
  });

  test('an encrypted iOS 9 backup: the Manifest.mbdb index named, files decrypted', async () => {
    const b = buildLegacyFixture(path.join(root, 'l'), { password: 'legacy-pw' });
    const r = await verifyBackupAt(b.dir, { password: () => Promise.resolve('legacy-pw') });
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.format, 'mbdb');
    const text = verifyText(r);
    assert.match(text, /^Encrypted: yes — the password opens it$/m);
    assert.match(text, /^Index: +8 Manifest\.mbdb records \(iOS 9 and earlier format\): 5 files, 2 folders, 1 link$/m);
    assert.match(text, /^Files: +5 expected: 5 present \(.*\), none missing; 2 checksums compared, 5 decrypted$/m);
    assert.match(text, /OK — this backup can be restored/);
  });
});
