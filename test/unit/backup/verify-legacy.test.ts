import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hasCode } from '../../../src/errors.js';
import { verifyBackup } from '../../../src/backup/verify.js';
import type { VerifyResult } from '../../../src/backup/verify.js';
import { tempRoot } from '../../support/backup-fixtures.js';
import { buildLegacyFixture, legacyEntries } from '../../support/legacy-backup-fixtures.js';
import type { BuiltLegacyBackup, LegacyFixtureEntry } from '../../support/legacy-backup-fixtures.js';

const { root, cleanup } = tempRoot();
after(cleanup);
let n = 0;
function fresh(password?: string, entries?: LegacyFixtureEntry[]): BuiltLegacyBackup {
  return buildLegacyFixture(path.join(root, `l${n++}`), {
    ...(password === undefined ? {} : { password }),
    ...(entries === undefined ? {} : { entries }),
  });
}

function codes(r: VerifyResult): string[] {
  return r.problems.map((p) => p.code).sort();
}

/** The flat blob of an entry: `<backup>/<fileID>`. */
function blobOf(b: BuiltLegacyBackup, relativePath: string): string {
  const i = b.entries.findIndex((e) => e.relativePath === relativePath);
  return path.join(b.dir, b.fileIDs[i] as string);
}

function assertCountsAddUp(r: VerifyResult): void {
  const c = r.counts;
  for (const [k, v] of Object.entries(c)) assert.ok(v >= 0, `${k} = ${v}`);
  assert.equal(c.filesPresent + c.filesMissing, c.filesExpected);
  assert.equal(c.filesExpected, c.files);
  assert.equal(c.rows, c.files + c.directories + c.symlinks + c.otherRows);
}

const SMS = 'Library/SMS/sms.db';
const PREFS = 'Library/Preferences/com.apple.springboard.plist';
const NOTES = 'Documents/notes.txt';

describe('verify: an iOS 9 backup without encryption (Manifest.mbdb)', () => {
  test('intact: ok, every record and file checked, Digests compared', async () => {
    const r = await verifyBackup(fresh().dir);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.format, 'mbdb');
    assert.equal(r.encrypted, false);
    assert.equal(r.counts.rows, 8);
    assert.equal(r.counts.files, 5);
    assert.equal(r.counts.directories, 2);
    assert.equal(r.counts.symlinks, 1);
    assert.equal(r.counts.filesPresent, 5);
    assert.equal(r.counts.filesMissing, 0);
    assert.equal(r.counts.digestsChecked, 2);
    assert.equal(r.counts.bytes, 50_000 + 17 + 0 + 32 + 10);
    assert.equal(r.counts.blobBytes, r.counts.bytes);
    assertCountsAddUp(r);
  });

  test('a missing blob → BLOB_MISSING naming the flat file', async () => {
    const b = fresh();
    rmSync(blobOf(b, NOTES));
    const r = await verifyBackup(b.dir);
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), ['BLOB_MISSING']);
    assert.equal(r.problems[0]?.path, `AppDomain-com.example.notes/${NOTES}`);
    assert.match(r.problems[0]?.message ?? '', new RegExp(`its file ${b.fileIDs[6]} is missing`));
    assert.equal(r.counts.filesMissing, 1);
    assert.equal(r.counts.filesPresent, 4);
    assertCountsAddUp(r);
  });

  test('a wrong size → BLOB_SIZE', async () => {
    const b = fresh();
    writeFileSync(blobOf(b, NOTES), new TextEncoder().encode('old notes, longer\n'));
    const r = await verifyBackup(b.dir);
    assert.deepEqual(codes(r), ['BLOB_SIZE']);
    assert.equal(r.counts.filesDamaged, 1);
  });

  test('a wrong Digest (same size, other content) → DIGEST_MISMATCH', async () => {
    const b = fresh();
    writeFileSync(blobOf(b, PREFS), new TextEncoder().encode('SPRINGBOARD PREFS'));
    const r = await verifyBackup(b.dir);
    assert.deepEqual(codes(r), ['DIGEST_MISMATCH']);
    assert.equal(r.problems[0]?.path, `HomeDomain/${PREFS}`);
    assert.equal(r.counts.filesDamaged, 1);
  });

  test('Digests are not compared when asked not to', async () => {
    const b = fresh();
    writeFileSync(blobOf(b, PREFS), new TextEncoder().encode('SPRINGBOARD PREFS'));
    const r = await verifyBackup(b.dir, { checkDigests: false });
    assert.deepEqual(codes(r), []);
    assert.equal(r.counts.digestsChecked, 0);
  });

  test('a damaged Manifest.mbdb → MANIFEST_MBDB_CORRUPT; the records before the damage are still checked', async () => {
    const b = fresh();
    const index = path.join(b.dir, 'Manifest.mbdb');
    truncateSync(index, readFileSync(index).length - 30);
    rmSync(blobOf(b, SMS));
    const r = await verifyBackup(b.dir);
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), ['BLOB_MISSING', 'MANIFEST_MBDB_CORRUPT']);
    assert.match(
      r.problems.find((p) => p.code === 'MANIFEST_MBDB_CORRUPT')?.message ?? '',
      /truncated .* at byte \d+\. The 7 records before it/,
    );
    assert.equal(r.counts.rows, 7);
    assertCountsAddUp(r);
    writeFileSync(index, new TextEncoder().encode('not an index'));
    const r2 = await verifyBackup(b.dir);
    assert.deepEqual(codes(r2), ['MANIFEST_MBDB_CORRUPT']);
    assert.equal(r2.counts.rows, 0);
  });

  test('a record of an unknown kind and hostile paths are reported', async () => {
    const entries: LegacyFixtureEntry[] = [
      ...legacyEntries(),
      { domain: 'HomeDomain', relativePath: 'fifo', kind: 'directory', mode: 0o10644 },
      { domain: 'HomeDomain', relativePath: '../../etc/evil', kind: 'directory' },
      { domain: '..', relativePath: 'x', kind: 'directory' },
    ];
    const r = await verifyBackup(fresh(undefined, entries).dir);
    assert.deepEqual(codes(r), ['BAD_FLAGS', 'UNSAFE_PATH', 'UNSAFE_PATH']);
    assert.equal(r.counts.otherRows, 1);
  });

  test('the same counts and progress whatever the batch size', async () => {
    const b = fresh();
    const done: number[] = [];
    const r = await verifyBackup(b.dir, { concurrency: 2, onProgress: (p) => done.push(p.filesDone) });
    assert.deepEqual(done, [1, 2, 3, 4, 5]);
    assert.equal(r.counts.filesPresent, 5);
  });
});

describe('verify: an encrypted iOS 9 backup (Manifest.mbdb, no ManifestKey)', () => {
  test('the right password: ok, every file decrypted, Digests of the ciphertext compared', async () => {
    const b = fresh('legacy-pw');
    const r = await verifyBackup(b.dir, { password: 'legacy-pw' });
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.format, 'mbdb');
    assert.equal(r.encrypted, true);
    assert.equal(r.passwordChecked, true);
    assert.equal(r.counts.filesDecrypted, 5);
    assert.equal(r.counts.decryptedBytes, r.counts.bytes);
    assert.equal(r.counts.digestsChecked, 2);
    // 50000 → 50016, 17 → 32, 0 → 16, 32 → 48, 10 → 16
    assert.equal(r.counts.blobBytes, 50_016 + 32 + 16 + 48 + 16);
    assertCountsAddUp(r);
    const cached = await verifyBackup(b.dir, { derivedKey: b.kek as Uint8Array });
    assert.equal(cached.ok, true);
    assert.equal(cached.counts.filesDecrypted, 5);
  });

  test('a wrong password → WRONG_PASSWORD; none → PASSWORD_REQUIRED', async () => {
    const b = fresh('legacy-pw');
    await assert.rejects(verifyBackup(b.dir, { password: 'not-it' }), (e) => hasCode(e, 'WRONG_PASSWORD'));
    await assert.rejects(verifyBackup(b.dir), (e) => hasCode(e, 'PASSWORD_REQUIRED'));
  });

  test('a damaged blob is reported as not decrypting', async () => {
    const b = fresh('legacy-pw');
    // 32 bytes of content → 3 blocks; flipping the top bit of block 2's last byte flips the
    // last padding byte of block 3 (CBC): 0x10 becomes 0x90, never valid PKCS#7.
    const p = blobOf(b, 'Media/DCIM/100APPLE/IMG_0001.JPG');
    const bytes = readFileSync(p);
    bytes[31] = (bytes[31] as number) ^ 0x80;
    writeFileSync(p, bytes);
    const r = await verifyBackup(b.dir, { password: 'legacy-pw' });
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), ['DECRYPT_FAILED']);
    assert.equal(r.problems[0]?.path, 'MediaDomain/Media/DCIM/100APPLE/IMG_0001.JPG');
    assert.equal(r.counts.filesDecrypted, 4);
    assert.equal(r.counts.filesDamaged, 1);
  });

  test('a damaged blob with a Digest: both its checksum and its decryption fail', async () => {
    const b = fresh('legacy-pw');
    const p = blobOf(b, SMS);
    const bytes = readFileSync(p);
    bytes[bytes.length - 17] = (bytes[bytes.length - 17] as number) ^ 0x80;
    writeFileSync(p, bytes);
    const r = await verifyBackup(b.dir, { password: 'legacy-pw' });
    assert.deepEqual(codes(r), ['DECRYPT_FAILED', 'DIGEST_MISMATCH']);
  });

  test('a truncated encrypted blob → BLOB_SIZE; a file without its key → KEY_MISSING', async () => {
    const entries = legacyEntries().map((e) => (e.relativePath === NOTES ? { ...e, noKey: true } : e));
    const b = fresh('legacy-pw', entries);
    truncateSync(blobOf(b, PREFS), 20);
    const r = await verifyBackup(b.dir, { password: 'legacy-pw' });
    assert.deepEqual(codes(r), ['BLOB_SIZE', 'DIGEST_MISMATCH', 'KEY_MISSING']);
  });

  test('--no-decrypt: the password is checked, sizes and Digests too, nothing decrypted', async () => {
    const b = fresh('legacy-pw');
    const r = await verifyBackup(b.dir, { password: 'legacy-pw', decrypt: false });
    assert.equal(r.ok, true);
    assert.equal(r.passwordChecked, true);
    assert.equal(r.counts.filesDecrypted, 0);
    assert.equal(r.counts.digestsChecked, 2);
  });
});
