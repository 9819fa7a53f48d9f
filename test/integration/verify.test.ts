import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { defaultBackup } from '../../src/app/open-backup.js';
import { verifyBackupAt, PROBLEM_MEANINGS, type VerifyReport } from '../../src/app/verify.js';
import { isIbackupError } from '../../src/errors.js';
import { serializeBinaryPlist } from '../../src/protocol/plist/index.js';
import { buildBackup, tempRoot } from '../support/backup-fixtures.js';
import { buildLegacyFixture } from '../support/legacy-backup-fixtures.js';
import { cliIn, listingOf, makeDemoBackup, type DemoBackup } from '../support/backup-reading.js';
import { json, type ErrorDoc } from '../support/bench.js';

const { root, cleanup } = tempRoot();
let demo: DemoBackup;
let n = 0;
const password = () => Promise.resolve('pw');

before(async () => {
  demo = await makeDemoBackup();
});
after(async () => {
  await demo?.dispose();
  cleanup();
});

/** A copy of the virtual iPhone's backup to damage, with ibackup's record of the files the phone could not read. */
function demoCopy(): string {
  const copyRoot = path.join(root, `demo${n++}`);
  const dir = path.join(copyRoot, demo.udid);
  cpSync(demo.dir, dir, { recursive: true });
  const record = path.join(demo.root, '.ibackup', 'unreadable', demo.udid);
  if (existsSync(record)) cpSync(record, path.join(copyRoot, '.ibackup', 'unreadable', demo.udid), { recursive: true });
  return dir;
}

function encrypted(): string {
  return buildBackup(path.join(root, `enc${n++}`), { password: 'pw' }).dir;
}

/** The first blob of at least `minSize` bytes (blobs are fileID-named, inside two-hex-digit folders). */
function someBlob(dir: string, minSize = 1): string {
  for (const sub of readdirSync(dir)
    .filter((d) => /^[0-9a-f]{2}$/.test(d))
    .sort()) {
    for (const f of readdirSync(path.join(dir, sub)).sort()) {
      const p = path.join(dir, sub, f);
      if (statSync(p).size >= minSize) return p;
    }
  }
  throw new Error('no blob');
}

function codes(r: VerifyReport): string[] {
  return [...new Set(r.problems.map((p) => p.code))].sort();
}

function interrupt(dir: string): void {
  mkdirSync(path.join(dir, 'Snapshot'));
  writeFileSync(
    path.join(dir, 'Status.plist'),
    serializeBinaryPlist({
      SnapshotState: 'uploading',
      IsFullBackup: true,
      Version: '3.3',
      BackupState: 'new',
      Date: new Date(),
    }),
  );
}

function corruptDb(dir: string): void {
  const fd = openSync(path.join(dir, 'Manifest.db'), 'r+');
  writeSync(fd, new Uint8Array(64).fill(0x5a), 0, 64, 0);
  closeSync(fd);
}

describe('verify on a backup made by the virtual iPhone', () => {
  test('a good backup is ok and verify writes nothing into it', async () => {
    const before = listingOf(demo.dir);
    const r = await verifyBackupAt(demo.dir);
    // The virtual iPhone (iOS 17) could not read one database to its end: a warning, not damage.
    assert.deepEqual(
      r.problems.filter((p) => p.code !== 'UNREADABLE_ON_DEVICE' || p.severity !== 'warning'),
      [],
    );
    assert.equal(r.ok, true);
    assert.equal(r.encrypted, false);
    assert.ok(r.counts.files > 0 && r.counts.blobsChecked === r.counts.files);
    assert.equal(r.counts.filesPresent, r.counts.filesExpected);
    assert.equal(r.format, 'manifest-db');
    assert.equal(r.device.udid, demo.udid);
    assert.deepEqual(listingOf(demo.dir), before);
  });

  const cases: Array<[string, (dir: string) => void, string[]]> = [
    ['a deleted blob', (d) => rmSync(someBlob(d)), ['BLOB_MISSING']],
    [
      'a truncated blob',
      (d) => {
        const b = someBlob(d, 100);
        truncateSync(b, 50);
      },
      ['BLOB_SIZE'],
    ],
    ['a corrupted Manifest.db', corruptDb, ['MANIFEST_DB_CORRUPT']],
    [
      'an interrupted backup (Snapshot/ left, Status not finished)',
      interrupt,
      ['SNAPSHOT_FOLDER', 'SNAPSHOT_NOT_FINISHED'],
    ],
  ];
  for (const [what, damage, expected] of cases) {
    test(`catches ${what}`, async () => {
      const dir = demoCopy();
      damage(dir);
      const before = listingOf(dir);
      const r = await verifyBackupAt(dir);
      assert.equal(r.ok, false);
      for (const c of expected) assert.ok(codes(r).includes(c), `${c} in ${codes(r).join(',')}`);
      for (const p of r.problems) assert.equal(p.meaning, PROBLEM_MEANINGS[p.code]);
      assert.deepEqual(listingOf(dir), before);
    });
  }
});

describe('verify on an encrypted backup', () => {
  test('the right password: ok, every file decrypted', async () => {
    const dir = encrypted();
    const before = listingOf(dir);
    const r = await verifyBackupAt(dir, { password });
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.passwordChecked, true);
    assert.equal(r.counts.filesDecrypted, r.counts.files);
    assert.deepEqual(listingOf(dir), before);
  });

  test('a wrong password: WRONG_PASSWORD with the way out; none at all: PASSWORD_REQUIRED', async () => {
    const dir = encrypted();
    await assert.rejects(
      verifyBackupAt(dir, { password: () => Promise.resolve('nope') }),
      (e) => isIbackupError(e) && e.code === 'WRONG_PASSWORD' && /Reset All Settings/.test(e.remedy),
    );
    await assert.rejects(verifyBackupAt(dir), (e) => isIbackupError(e) && e.code === 'PASSWORD_REQUIRED');
  });

  const cases: Array<[string, (dir: string) => void, string]> = [
    ['a deleted blob', (d) => rmSync(someBlob(d)), 'BLOB_MISSING'],
    ['a truncated blob', (d) => truncateSync(someBlob(d, 64), 48), 'BLOB_SIZE'],
    ['a corrupted Manifest.db', corruptDb, 'MANIFEST_DB_CORRUPT'],
    ['an interrupted backup', interrupt, 'SNAPSHOT_FOLDER'],
  ];
  for (const [what, damage, expected] of cases) {
    test(`catches ${what}`, async () => {
      const dir = encrypted();
      damage(dir);
      const r = await verifyBackupAt(dir, { password });
      assert.equal(r.ok, false);
      assert.ok(codes(r).includes(expected), `${expected} in ${codes(r).join(',')}`);
    });
  }
});

describe('which backup verify checks without BACKUP', () => {
  test("the connected device's backup; with no device, the only backup; with several, USAGE listing them", async () => {
    assert.equal(await defaultBackup([demo.root], { host: demo.ctx }), demo.dir);
    const only = path.join(root, `only${n++}`);
    const b = buildBackup(only);
    assert.equal(await defaultBackup([only]), b.dir);
    buildBackup(only, { udid: '00008101-000A1B2C3D4E5F60', folder: '00008101-000A1B2C3D4E5F60' });
    await assert.rejects(
      defaultBackup([only]),
      (e) => isIbackupError(e) && e.code === 'USAGE' && e.message.includes(b.dir),
    );
    assert.equal(
      await defaultBackup([only], { wanted: '00008101000a1b2c3d4e5f60' }),
      path.join(only, '00008101-000A1B2C3D4E5F60'),
    );
  });
});

describe('ibackup verify (CLI)', () => {
  test('--json result, exit codes, the report in words, a wrong password', async () => {
    const config = path.join(root, `cfg${n++}`);
    const good = demoCopy();
    const bad = demoCopy();
    rmSync(someBlob(bad));
    const enc = encrypted();
    const cli = cliIn(config, path.dirname(good));
    const [okJson, badText, wrong, right] = await Promise.all([
      cli(['verify', good, '--json']),
      cli(['verify', bad]),
      cli(['verify', enc, '--password-stdin', '--json'], { stdin: 'not-it\n' }),
      cli(['verify', enc], { env: { IBACKUP_PASSWORD: 'pw' } }),
    ]);
    assert.equal(okJson.code, 0, okJson.stderr);
    const doc = json<{ ok: boolean; counts: Record<string, number>; problems: Array<{ code: string }> }>(okJson.stdout);
    assert.equal(doc.ok, true);
    assert.deepEqual(
      doc.problems.filter((p) => p.code !== 'UNREADABLE_ON_DEVICE'),
      [],
    );
    assert.ok(doc.counts.files !== undefined && doc.counts.files > 0);
    assert.equal(badText.code, 1);
    assert.match(badText.stdout, /NOT RESTORABLE/);
    assert.match(badText.stdout, /BLOB_MISSING \(1\): A file listed in the backup is not there/);
    assert.equal(wrong.code, 1);
    assert.equal(json<ErrorDoc>(wrong.stdout).error.code, 'WRONG_PASSWORD');
    assert.doesNotMatch(wrong.stdout + wrong.stderr, /not-it/);
    assert.equal(right.code, 0, right.stderr);
    assert.match(right.stdout, /the password opens it/);
    assert.doesNotMatch(right.stdout + right.stderr, /\bpw\b/);
  });
});

describe('ibackup verify on iOS 9 backups (Manifest.mbdb)', () => {
  test('encrypted: the right password verifies every file; a wrong one is WRONG_PASSWORD; a missing file is listed in --json', async () => {
    const config = path.join(root, `cfg${n++}`);
    const enc = buildLegacyFixture(path.join(root, `legacy${n++}`), { password: 'legacy-pw' });
    const plain = buildLegacyFixture(path.join(root, `legacy${n++}`));
    rmSync(path.join(plain.dir, plain.fileIDs[2] as string));
    const cli = cliIn(config, path.dirname(enc.dir));
    const [right, wrong, damaged] = await Promise.all([
      cli(['verify', enc.dir], { env: { IBACKUP_PASSWORD: 'legacy-pw' } }),
      cli(['verify', enc.dir, '--password-stdin', '--json'], { stdin: 'not-it\n' }),
      cli(['verify', plain.dir, '--json']),
    ]);
    assert.equal(right.code, 0, right.stdout + right.stderr);
    assert.match(right.stdout, /the password opens it/);
    assert.match(right.stdout, /Manifest\.mbdb records/);
    assert.match(right.stdout, /5 expected: 5 present .* 5 decrypted/);
    assert.doesNotMatch(right.stdout, /MANIFEST_KEYS_MISSING|NOT RESTORABLE/);
    assert.equal(wrong.code, 1);
    assert.equal(json<ErrorDoc>(wrong.stdout).error.code, 'WRONG_PASSWORD');
    assert.equal(damaged.code, 1);
    const doc = json<{
      ok: boolean;
      counts: Record<string, number>;
      problems: Array<{ code: string; message: string; path: string }>;
    }>(damaged.stdout);
    assert.equal(doc.ok, false);
    assert.deepEqual([doc.counts.filesExpected, doc.counts.filesPresent, doc.counts.filesMissing], [5, 4, 1]);
    assert.deepEqual(
      doc.problems.map((p) => [p.code, p.path]),
      [['BLOB_MISSING', 'HomeDomain/Library/SMS/sms.db']],
    );
  });
});
