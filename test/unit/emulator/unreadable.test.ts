/**
 * The part of a file the device sends before its read error: whole 16-byte blocks (about half the
 * blob), taken without reading the source further — so an encrypted blob is never finished and
 * its row gets no Digest of bytes that were not sent. Which files, from which iOS version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FILEPROVIDER_BACKUP_DB } from '../../../src/emulator/content/domains.js';
import { encryptChunks } from '../../../src/emulator/services/mobilebackup2/encryption.js';
import { RestoreDecryptor } from '../../../src/emulator/services/mobilebackup2/restore-decrypt.js';
import {
  UNREADABLE_REASON,
  bytesBeforeFailure,
  firstBytes,
  unreadableReason,
} from '../../../src/emulator/services/mobilebackup2/unreadable.js';

const file = { ...FILEPROVIDER_BACKUP_DB, kind: 'file' as const };

test('the FileProvider database is unreadable from iOS 17, read whole before', () => {
  assert.equal(unreadableReason('17.0', file), UNREADABLE_REASON);
  assert.equal(unreadableReason('26.1', file), UNREADABLE_REASON);
  assert.equal(unreadableReason('16.7.8', file), undefined);
  assert.equal(unreadableReason('17.5.1', { ...file, relativePath: 'Library/other.db' }), undefined);
  assert.equal(unreadableReason('17.5.1', { ...file, kind: 'directory' }), undefined);
});

test('some data, in whole blocks', () => {
  for (const n of [32, 48, 9690, 1 << 20]) {
    const k = bytesBeforeFailure(n);
    assert.ok(k > 0 && k < n && k % 16 === 0, `${n} → ${k}`);
  }
});

test('the source is not read past the part sent; an encryptor is not finished', () => {
  let pulled = 0;
  function* source(): Generator<Uint8Array> {
    for (let i = 0; i < 4; i++) {
      pulled++;
      yield new Uint8Array(1000).fill(i);
    }
  }
  const out = [...(firstBytes(source(), 1000) as Iterable<Uint8Array>)];
  assert.equal(pulled, 1);
  assert.equal(Buffer.concat(out).length, 1000);

  let digest: Uint8Array | undefined;
  const plain = [randomBytes(5000)];
  const sent = [
    ...(firstBytes(
      encryptChunks(randomBytes(32), plain, (d) => (digest = d)),
      bytesBeforeFailure(5008),
    ) as Iterable<Uint8Array>),
  ];
  assert.equal(Buffer.concat(sent).length, bytesBeforeFailure(5008));
  assert.equal(digest, undefined, 'no Digest of a blob that was not sent whole');
});

test('restore: a whole blob needs valid padding; a short one (sent in part) gives its whole blocks', () => {
  const key = randomBytes(32);
  const plain = randomBytes(5000);
  const blob = Buffer.concat([...(encryptChunks(key, [plain]) as Iterable<Uint8Array>)]);
  const run = (k: Uint8Array, bytes: Uint8Array, size: number): Buffer => {
    const d = new RestoreDecryptor(k, size);
    const out: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += 777) out.push(d.push(bytes.subarray(at, at + 777)));
    out.push(d.finish());
    return Buffer.concat(out);
  };
  assert.ok(run(key, blob, 5000).equals(plain), 'whole');
  assert.throws(() => run(randomBytes(32), blob, 5000), /padding/, 'another key');
  const part = blob.subarray(0, bytesBeforeFailure(blob.length));
  assert.ok(run(key, part, 5000).equals(plain.subarray(0, part.length)), 'the part sent');
});
