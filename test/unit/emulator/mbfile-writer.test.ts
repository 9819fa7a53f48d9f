import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceContent } from '../../../src/emulator/content/index.js';
import { writeMBFile } from '../../../src/emulator/services/mobilebackup2/mbfile-writer.js';
import { mbFileOf } from '../../../src/emulator/services/mobilebackup2/manifest-writer.js';
import { decodeMBFile, encodeMBFile, type MBFile } from '../../../src/protocol/nskeyed.js';

const base: MBFile = {
  relativePath: 'Library/Preferences/com.apple.x.plist',
  lastModified: 1_700_000_000,
  lastStatusChange: 1_700_000_001,
  birth: 1_600_000_000,
  size: 12_345,
  mode: 0o100644,
  inodeNumber: 123_456,
  userId: 501,
  groupId: 501,
  flags: 0,
  protectionClass: 3,
};

describe('emulator MBFile writer', () => {
  test('writes every row of a device exactly as the general encoder does', () => {
    const c = DeviceContent.build({ seed: 7, files: 3000, bytes: 1 << 20, hugeFiles: [5 * 2 ** 30] });
    let n = 0;
    for (const e of c.entries()) {
      const f = mbFileOf(e);
      assert.deepEqual(writeMBFile(f), encodeMBFile(f), `${e.domain} ${e.relativePath}`);
      n++;
    }
    assert.ok(n > 3000);
  });

  test('edge values: negative ids, sizes beyond 4 GiB, long and non-ASCII paths, empty and reserved names', () => {
    const cases: MBFile[] = [
      { ...base, userId: -2, groupId: -2 },
      { ...base, size: 2 ** 40 + 3, inodeNumber: 2 ** 33 },
      { ...base, lastModified: -1, birth: 0, flags: 0xffffffff, mode: 0o40755 },
      { ...base, relativePath: '' },
      { ...base, relativePath: 'Size' },
      { ...base, relativePath: 'NSObject' },
      { ...base, relativePath: 'Media/DCIM/100APPLE/Résumé 😀.pdf' },
      { ...base, relativePath: 'a'.repeat(14) },
      { ...base, relativePath: 'a'.repeat(15) },
      { ...base, relativePath: `${'d/'.repeat(200)}f` },
      { ...base, relativePath: `${'é'.repeat(300)}` },
      { ...base, target: '/var/mobile/x' },
      { ...base, digest: new Uint8Array(20).fill(1) },
      { ...base, encryptionKey: new Uint8Array(44).fill(2) },
      { ...base, extendedAttributes: { 'com.apple.x': new Uint8Array([1, 2]) } },
      { ...base, size: 1.5 },
    ];
    for (const f of cases) {
      let expected: Uint8Array | Error;
      try {
        expected = encodeMBFile(f);
      } catch (err) {
        expected = err as Error;
      }
      if (expected instanceof Error) {
        assert.throws(() => writeMBFile(f));
        continue;
      }
      const got = writeMBFile(f);
      assert.deepEqual(got, expected, JSON.stringify(f.relativePath));
      assert.equal(decodeMBFile(got).relativePath, f.relativePath);
    }
  });
});
