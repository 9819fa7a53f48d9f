import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { hasCode } from '../../../src/errors.js';
import { manifestDbKey } from '../../../src/backup/crypto/decrypt.js';
import { unlockWithDerivedKey } from '../../../src/backup/crypto/keybag-unlock.js';
import { verifyBackup } from '../../../src/backup/verify.js';
import { aesCbcDecrypt } from '../../../src/protocol/crypto.js';
import type { VerifyResult } from '../../../src/backup/verify.js';
import { encodeMBFile } from '../../../src/protocol/nskeyed.js';
import { parsePlist, serializeBinaryPlist } from '../../../src/protocol/plist/index.js';
import type { PlistDict } from '../../../src/protocol/plist/index.js';
import { buildBackup, fileIdOf, tempRoot } from '../../support/backup-fixtures.js';
import type { BuiltBackup } from '../../support/backup-fixtures.js';

const { root, cleanup } = tempRoot();
after(cleanup);
let n = 0;
function fresh(password?: string): BuiltBackup {
  return buildBackup(path.join(root, `b${n++}`), password === undefined ? {} : { password });
}

function codes(r: VerifyResult): string[] {
  return r.problems.map((p) => p.code).sort();
}

function blobOf(b: BuiltBackup, relativePath: string): string {
  const i = b.entries.findIndex((e) => e.relativePath === relativePath);
  const id = b.fileIDs[i] as string;
  return path.join(b.dir, id.slice(0, 2), id);
}

/** Adds a raw row to an unencrypted Manifest.db. */
function addRow(
  b: BuiltBackup,
  fileID: string,
  domain: string,
  relativePath: string,
  flags: number,
  file: Uint8Array,
): void {
  const db = new Database(path.join(b.dir, 'Manifest.db'));
  db.prepare('INSERT INTO Files VALUES (?, ?, ?, ?, ?)').run(fileID, domain, relativePath, flags, Buffer.from(file));
  db.close();
}

describe('verifyBackup', () => {
  test('a good plain backup is ok, with counts', async () => {
    const r = await verifyBackup(fresh().dir);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.encrypted, false);
    assert.equal(r.counts.rows, 12);
    assert.equal(r.counts.files, 6);
    assert.equal(r.counts.directories, 5);
    assert.equal(r.counts.symlinks, 1);
    assert.equal(r.counts.blobsChecked, 6);
    assert.equal(r.counts.filesExpected, 6);
    assert.equal(r.counts.filesPresent, 6);
    assert.equal(r.counts.filesMissing, 0);
    assert.equal(r.counts.filesDamaged, 0);
    assert.equal(r.format, 'manifest-db');
    assert.equal(r.counts.digestsChecked, 3);
    assert.equal(r.counts.bytes, 70_000 + 5 + 10 + 0 + 32 + 12);
    assert.equal(r.counts.blobBytes, r.counts.bytes);
  });

  test('a good encrypted backup is ok; every file decrypted; ciphertext sizes are padded sizes', async () => {
    const progress: number[] = [];
    const r = await verifyBackup(fresh('pw').dir, { password: 'pw', onProgress: (p) => progress.push(p.filesDone) });
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.encrypted, true);
    assert.equal(r.passwordChecked, true);
    assert.equal(r.counts.filesDecrypted, 6);
    assert.equal(r.counts.decryptedBytes, r.counts.bytes);
    // 70000 → 70016, 5 → 16, 10 → 16, 0 → 16, 32 → 48, 12 → 16
    assert.equal(r.counts.blobBytes, 70016 + 16 + 16 + 16 + 48 + 16);
    assert.equal(progress.at(-1), 6);
  });

  test('encrypted without a password → PASSWORD_REQUIRED; wrong one → WRONG_PASSWORD', async () => {
    const b = fresh('pw');
    await assert.rejects(verifyBackup(b.dir), (e) => hasCode(e, 'PASSWORD_REQUIRED'));
    await assert.rejects(verifyBackup(b.dir, { password: 'nope' }), (e) => hasCode(e, 'WRONG_PASSWORD'));
  });

  test('a deleted blob', async () => {
    const b = fresh();
    rmSync(blobOf(b, 'Library/SMS/sms.db'));
    const r = await verifyBackup(b.dir);
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), ['BLOB_MISSING']);
    assert.equal(r.problems[0]?.path, 'HomeDomain/Library/SMS/sms.db');
    assert.equal(r.counts.blobsMissing, 1);
  });

  test('a partial backup (most blobs gone): counts add up, never negative; every missing file listed', async () => {
    const b = fresh();
    const files = b.entries.filter((e) => e.kind === 'file').map((e) => e.relativePath);
    const kept = 'Library/block32.bin';
    for (const f of files) if (f !== kept) rmSync(blobOf(b, f));
    const r = await verifyBackup(b.dir);
    const c = r.counts;
    for (const [k, v] of Object.entries(c)) assert.ok(v >= 0, `${k} = ${v}`);
    assert.equal(c.filesExpected, 6);
    assert.equal(c.filesPresent, 1);
    assert.equal(c.filesMissing, 5);
    assert.equal(c.filesPresent + c.filesMissing, c.filesExpected);
    assert.equal(c.blobsChecked, 1);
    assert.equal(c.blobsMissing, 5);
    assert.equal(c.blobBytes, 32);
    assert.equal(c.errors, 5);
    assert.deepEqual(codes(r), Array(5).fill('BLOB_MISSING'));
    const missing = files.filter((f) => f !== kept);
    assert.deepEqual(
      r.problems.map((p) => p.path).sort(),
      missing.map((f) => `${f.startsWith('Documents') ? 'AppDomain-com.example.app' : 'HomeDomain'}/${f}`).sort(),
    );
  });

  test('a row whose fileID is malformed counts as missing (its file cannot be found)', async () => {
    const b = fresh();
    addRow(
      b,
      'ZZ',
      'HomeDomain',
      'Library/odd.bin',
      1,
      encodeMBFile({ relativePath: 'Library/odd.bin', size: 3, mode: 0o100644 }),
    );
    const r = await verifyBackup(b.dir);
    assert.deepEqual(codes(r), ['BAD_FILE_ID']);
    assert.equal(r.counts.filesExpected, 7);
    assert.equal(r.counts.filesPresent, 6);
    assert.equal(r.counts.filesMissing, 1);
    assert.equal(r.counts.blobsMissing, 0);
  });

  test('an encrypted backup of iOS 10.0/10.1 (plain Manifest.db) needs no ManifestKey; a 10.2+ one does', async () => {
    const dropManifestKey = (b: BuiltBackup): void => {
      const manifest = path.join(b.dir, 'Manifest.plist');
      const plist = parsePlist(readFileSync(manifest)) as PlistDict;
      delete plist.ManifestKey;
      writeFileSync(manifest, serializeBinaryPlist(plist));
    };
    const old = fresh('pw');
    const db = path.join(old.dir, 'Manifest.db');
    const manifestKey = (parsePlist(readFileSync(path.join(old.dir, 'Manifest.plist'))) as PlistDict)
      .ManifestKey as Uint8Array;
    const keys = unlockWithDerivedKey(old.keybag as Uint8Array, old.kek as Uint8Array);
    writeFileSync(db, aesCbcDecrypt(manifestDbKey(keys, manifestKey), readFileSync(db)));
    dropManifestKey(old);
    const r1 = await verifyBackup(old.dir, { password: 'pw' });
    assert.deepEqual(codes(r1), []);
    assert.equal(r1.counts.filesDecrypted, 6);
    const modern = fresh('pw');
    dropManifestKey(modern);
    const r2 = await verifyBackup(modern.dir, { password: 'pw' });
    assert.ok(codes(r2).includes('MANIFEST_KEYS_MISSING'), codes(r2).join(','));
  });

  test('a truncated blob (plain: size and digest; encrypted: size and padding)', async () => {
    const plain = fresh();
    truncateSync(blobOf(plain, 'Library/SMS/sms.db'), 1000);
    const r1 = await verifyBackup(plain.dir);
    assert.equal(r1.ok, false);
    assert.deepEqual(codes(r1), ['BLOB_SIZE', 'DIGEST_MISMATCH']);
    const enc = fresh('pw');
    truncateSync(blobOf(enc, 'Documents/notes.txt'), 10);
    const r2 = await verifyBackup(enc.dir, { password: 'pw' });
    assert.equal(r2.ok, false);
    assert.deepEqual(codes(r2), ['BLOB_SIZE']);
  });

  test('an encrypted blob cut by a whole block fails to decrypt; a corrupted last block too', async () => {
    const enc = fresh('pw');
    const p = blobOf(enc, 'Library/SMS/sms.db');
    truncateSync(p, 70000);
    const r = await verifyBackup(enc.dir, { password: 'pw' });
    assert.equal(r.ok, false);
    assert.ok(codes(r).includes('DIGEST_MISMATCH'));
    assert.ok(codes(r).includes('BLOB_SIZE') || codes(r).includes('DECRYPT_FAILED'));
    const bytes = readFileSync(blobOf(enc, 'Library/empty.txt'));
    bytes[15] = (bytes[15] as number) ^ 0xff;
    writeFileSync(blobOf(enc, 'Library/empty.txt'), bytes);
    const r2 = await verifyBackup(enc.dir, { password: 'pw' });
    // CBC: the damaged block decrypts to random bytes, whose padding is still valid about once in
    // 256 keys; the content then has the wrong length, which is reported instead.
    const found = r2.problems.filter((x) => x.path === 'HomeDomain/Library/empty.txt').map((x) => x.code);
    assert.ok(found.includes('DECRYPT_FAILED') || found.includes('SIZE_CHANGED'), JSON.stringify(found));
  });

  test('a corrupted Manifest.db (plain and encrypted)', async () => {
    const plain = fresh();
    writeFileSync(
      path.join(plain.dir, 'Manifest.db'),
      new TextEncoder().encode('SQLite format 3\0 but garbage after it'.padEnd(4096, 'x')),
    );
    const r = await verifyBackup(plain.dir);
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), ['MANIFEST_DB_CORRUPT']);
    const enc = fresh('pw');
    appendFileSync(path.join(enc.dir, 'Manifest.db'), new Uint8Array(5));
    const r2 = await verifyBackup(enc.dir, { password: 'pw' });
    assert.deepEqual(codes(r2), ['MANIFEST_DB_CORRUPT']);
  });

  test('a missing Manifest.db', async () => {
    const b = fresh();
    rmSync(path.join(b.dir, 'Manifest.db'));
    const r = await verifyBackup(b.dir);
    assert.deepEqual(codes(r), ['MANIFEST_DB_MISSING']);
  });

  test('a leftover Snapshot/ folder and a Status not finished', async () => {
    const b = fresh();
    mkdirSync(path.join(b.dir, 'Snapshot'));
    writeFileSync(
      path.join(b.dir, 'Status.plist'),
      serializeBinaryPlist({
        SnapshotState: 'uploading',
        IsFullBackup: true,
        Version: '3.3',
        BackupState: 'new',
        Date: new Date(),
        UUID: 'X',
      }),
    );
    const r = await verifyBackup(b.dir);
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), ['SNAPSHOT_FOLDER', 'SNAPSHOT_NOT_FINISHED']);
  });

  test('missing and damaged plists, missing Manifest.plist keys', async () => {
    const b = fresh();
    rmSync(path.join(b.dir, 'Status.plist'));
    writeFileSync(path.join(b.dir, 'Info.plist'), new TextEncoder().encode('<plist><dict><key>Device Name</key>'));
    writeFileSync(
      path.join(b.dir, 'Manifest.plist'),
      serializeBinaryPlist({ IsEncrypted: false, Lockdown: { DeviceName: 'x' } }),
    );
    const r = await verifyBackup(b.dir);
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), ['INFO_PLIST_CORRUPT', 'MANIFEST_KEYS_MISSING', 'STATUS_PLIST_MISSING']);
    const mk = r.problems.find((p) => p.code === 'MANIFEST_KEYS_MISSING');
    assert.match(mk?.message ?? '', /Version, Date, WasPasscodeSet.*Lockdown\.ProductVersion/);
  });

  test('a bad fileID, bad flags, an undecodable MBFile and hostile paths are reported, nothing is written', async () => {
    const b = fresh();
    const good = encodeMBFile({ relativePath: 'x', size: 0, mode: 0o40755 });
    addRow(b, 'ffffffffffffffffffffffffffffffffffffffff', 'HomeDomain', 'x', 2, good);
    addRow(b, fileIdOf('HomeDomain', 'y'), 'HomeDomain', 'y', 10, encodeMBFile({ relativePath: 'y' }));
    addRow(b, fileIdOf('HomeDomain', 'z'), 'HomeDomain', 'z', 2, new TextEncoder().encode('not a plist'));
    const hostile = '../../../../tmp/evil';
    addRow(
      b,
      fileIdOf('HomeDomain', hostile),
      'HomeDomain',
      hostile,
      1,
      encodeMBFile({ relativePath: hostile, size: 3 }),
    );
    addRow(b, '../../../etc/passwd', 'HomeDomain', 'w', 1, encodeMBFile({ relativePath: 'w', size: 3 }));
    const r = await verifyBackup(b.dir);
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), [
      'BAD_FILE_ID',
      'BAD_FILE_ID',
      'BAD_FLAGS',
      'BAD_MBFILE',
      'BLOB_MISSING',
      'UNSAFE_PATH',
    ]);
    assert.equal(r.counts.otherRows, 1);
  });

  test('a wrong Digest', async () => {
    const b = fresh();
    const p = blobOf(b, 'Library/Preferences/com.apple.springboard.plist');
    writeFileSync(p, new TextEncoder().encode('LOWER'));
    const r = await verifyBackup(b.dir);
    assert.deepEqual(codes(r), ['DIGEST_MISMATCH']);
  });

  test('a file that changed while backed up: encrypted with valid padding → warning only; plain → size error', async () => {
    const entries = [
      { domain: 'HomeDomain', relativePath: '', kind: 'directory' as const },
      {
        domain: 'HomeDomain',
        relativePath: 'live.sqlite',
        kind: 'file' as const,
        content: new Uint8Array(70_000),
        recordedSize: 69_990,
      },
    ];
    const enc = buildBackup(path.join(root, `b${n++}`), { password: 'pw', entries });
    const r = await verifyBackup(enc.dir, { password: 'pw' });
    assert.equal(r.ok, true);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.severity]),
      [['SIZE_CHANGED', 'warning']],
    );
    assert.equal(r.counts.warnings, 1);
    const plain = buildBackup(path.join(root, `b${n++}`), { entries });
    const r2 = await verifyBackup(plain.dir);
    assert.equal(r2.ok, false);
    assert.deepEqual(codes(r2), ['BLOB_SIZE']);
  });

  test('problems over the per-code limit are counted, not listed', async () => {
    const b = fresh();
    for (const e of b.entries.keys())
      if (b.entries[e]?.kind === 'file') rmSync(blobOf(b, b.entries[e]?.relativePath ?? ''));
    const r = await verifyBackup(b.dir, { maxProblemsPerCode: 2 });
    assert.equal(r.problems.length, 2);
    assert.equal(r.counts.problemsOmitted, 4);
    assert.equal(r.counts.errors, 6);
  });

  test('cancellation → CANCELLED', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(verifyBackup(fresh().dir, { signal: ac.signal, concurrency: 1 }), (e) =>
      hasCode(e, 'CANCELLED'),
    );
  });
});
