import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isIbackupError } from '../../../src/errors.js';
import { legacyBlobPath, parseMbdb } from '../../../src/backup/legacy.js';
import { bigEndian as be, mbdbString as str } from '../../support/bytes.js';

/** Hand-assembled Manifest.mbdb bytes (backup-format.md §5.7), written field by field. */
const digest = new Uint8Array(20).fill(0xab);
const key = new Uint8Array(44).fill(0x11);
const SAMPLE = new Uint8Array([
  ...[0x6d, 0x62, 0x64, 0x62, 0x05, 0x00],
  // A file with digest, key and one extended attribute.
  ...str('HomeDomain'),
  ...str('Library/SMS/sms.db'),
  ...str(null),
  ...str(digest),
  ...str(key),
  ...be(0o100644, 2),
  ...be(123456, 8),
  ...be(501, 4),
  ...be(501, 4),
  ...be(1600000000, 4),
  ...be(1600000001, 4),
  ...be(1600000002, 4),
  ...be(70000, 8),
  4,
  1,
  ...str('com.apple.x'),
  ...str('v'),
  // A symlink.
  ...str('DatabaseDomain'),
  ...str('timezone/localtime'),
  ...str('/usr/share/zoneinfo/UTC'),
  ...str(null),
  ...str(null),
  ...be(0o120755, 2),
  ...be(7, 8),
  ...be(0, 4),
  ...be(0, 4),
  ...be(1, 4),
  ...be(2, 4),
  ...be(3, 4),
  ...be(0, 8),
  0,
  0,
]);

describe('Manifest.mbdb', () => {
  test('parses records (fileIDs per §5.2)', () => {
    const [a, b, ...rest] = parseMbdb(SAMPLE);
    assert.equal(rest.length, 0);
    assert.equal(a?.fileID, '3d0d7e5fb2ce288813306e4d4636395e047a3d28');
    assert.equal(a?.kind, 'file');
    assert.equal(a?.size, 70000);
    assert.equal(a?.inode, 123456);
    assert.equal(a?.protectionClass, 4);
    assert.equal(a?.lastStatusChange, 1600000002);
    assert.deepEqual(a?.digest, digest);
    assert.deepEqual(a?.encryptionKey, key);
    assert.deepEqual([...(a?.properties ?? [])], [['com.apple.x', new TextEncoder().encode('v')]]);
    assert.equal(b?.kind, 'symlink');
    assert.equal(b?.target, '/usr/share/zoneinfo/UTC');
    assert.equal(b?.digest, undefined);
    assert.equal(legacyBlobPath('/b', a as NonNullable<typeof a>), '/b/3d0d7e5fb2ce288813306e4d4636395e047a3d28');
  });

  test('every truncation is either a record boundary or BACKUP_CORRUPT', () => {
    for (let n = 0; n < SAMPLE.length; n++) {
      try {
        const recs = parseMbdb(SAMPLE.subarray(0, n));
        assert.ok(recs.length <= 1, `prefix ${n}`);
      } catch (err) {
        assert.ok(isIbackupError(err) && err.code === 'BACKUP_CORRUPT', `prefix ${n}: ${String(err)}`);
      }
    }
  });
});
