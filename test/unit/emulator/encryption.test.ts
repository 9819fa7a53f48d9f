/**
 * The virtual iPhone's side of encrypted backups and restores: the passcode prompt, blobs
 * encrypted while they stream (checked against `openssl enc` at every split point), per-file keys
 * that stay the same for the same file version, the encrypted Manifest.db, re-keying a computer's
 * Manifest.plist for a new password (read back by the host's own keybag reader), and the restore
 * side's keybag unlock and option defaults.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { unlockKeybag } from '../../../src/backup/crypto/keybag-unlock.js';
import { isIbackupError } from '../../../src/errors.js';
import { parsePlist, serializeBinaryPlist, type PlistDict } from '../../../src/protocol/plist/index.js';
import type { DeviceEntry } from '../../../src/emulator/content/index.js';
import { createBackupKeys, deriveDeviceKek, keybagBytes } from '../../../src/emulator/keybag.js';
import { askForPasscode, asksForPasscode, PROMPT_DISMISSED, PROMPT_PRESENTED } from '../../../src/emulator/passcode.js';
import type { PasscodeBehaviour } from '../../../src/emulator/profile-types.js';
import { rewrapManifestPlist } from '../../../src/emulator/services/mobilebackup2/change-password.js';
import {
  backupCrypto,
  decryptManifestDb,
  encryptChunks,
  fileKeyOf,
} from '../../../src/emulator/services/mobilebackup2/encryption.js';
import { parseRestoreOptions, unlockBackupKeybag } from '../../../src/emulator/services/mobilebackup2/restore.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function opensslEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  return execFileSync('openssl', ['enc', '-aes-256-cbc', '-K', hex(key), '-iv', '00'.repeat(16)], { input: data });
}

async function collect(it: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

function entry(over: Partial<DeviceEntry> = {}): DeviceEntry {
  return {
    domain: 'HomeDomain',
    relativePath: 'Library/Notes/notes.sqlite',
    kind: 'file',
    size: 1000,
    mode: 0o100644,
    uid: 501,
    gid: 501,
    inode: 42,
    mtime: 1_700_000_000,
    ctime: 1_700_000_000,
    birth: 1_600_000_000,
    protectionClass: 3,
    flags: 0,
    extendedAttributes: {},
    source: 'noise',
    version: 0,
    encryptedOnly: false,
    ...over,
  };
}

describe('passcode prompt', () => {
  test('only iOS 16.1 and later ask', () => {
    for (const v of ['15.8', '16.0', '16.0.3', '9.3.5']) assert.equal(asksForPasscode(v), false, v);
    for (const v of ['16.1', '16.7.2', '17.5.1', '18.0', '26.0']) assert.equal(asksForPasscode(v), true, v);
  });

  const prompt = (b: () => PasscodeBehaviour, timeoutSeconds: number, posted: string[]) => ({
    productVersion: '17.5.1',
    behaviour: b,
    timeoutSeconds,
    post: (n: string) => posted.push(n),
  });

  test('entered at once, entered later, never, and a change of mind while it is up', async () => {
    const posted: string[] = [];
    assert.equal(
      await askForPasscode(
        prompt(() => ({ mode: 'enter' }), 5, posted),
        new AbortController().signal,
      ),
      true,
    );
    assert.deepEqual(posted, [PROMPT_PRESENTED, PROMPT_DISMISSED]);
    let started = Date.now();
    assert.equal(
      await askForPasscode(
        prompt(() => ({ mode: 'after', seconds: 0.15 }), 5, []),
        new AbortController().signal,
      ),
      true,
    );
    assert.ok(Date.now() - started >= 140);
    started = Date.now();
    assert.equal(
      await askForPasscode(
        prompt(() => ({ mode: 'never' }), 0.2, []),
        new AbortController().signal,
      ),
      false,
    );
    assert.ok(Date.now() - started >= 190);
    assert.equal(
      await askForPasscode(
        prompt(() => ({ mode: 'after', seconds: 10 }), 0.1, []),
        new AbortController().signal,
      ),
      false,
    );
    let b: PasscodeBehaviour = { mode: 'never' };
    setTimeout(() => (b = { mode: 'enter' }), 100);
    assert.equal(
      await askForPasscode(
        prompt(() => b, 5, []),
        new AbortController().signal,
      ),
      true,
    );
    assert.equal(
      await askForPasscode(
        { ...prompt(() => ({ mode: 'never' }), 5, []), productVersion: '16.0' },
        new AbortController().signal,
      ),
      true,
    );
  });

  test('a cancelled run stops the prompt and dismisses it', async () => {
    const posted: string[] = [];
    const c = new AbortController();
    setTimeout(() => c.abort(new Error('cancelled')), 50);
    await assert.rejects(
      askForPasscode(
        prompt(() => ({ mode: 'never' }), 60, posted),
        c.signal,
      ),
      /cancelled/,
    );
    assert.deepEqual(posted, [PROMPT_PRESENTED, PROMPT_DISMISSED]);
  });
});

describe('blob encryption', () => {
  const key = new Uint8Array(randomBytes(32));

  test('every split point of a sample gives the bytes openssl makes, and the digest of them', async () => {
    const data = new Uint8Array(randomBytes(50));
    const expected = opensslEncrypt(key, data);
    for (let at = 0; at <= data.length; at++) {
      let digest: Uint8Array | undefined;
      const out = await collect(encryptChunks(key, [data.subarray(0, at), data.subarray(at)], (d) => (digest = d)));
      assert.equal(hex(out), hex(expected), `split at ${at}`);
      assert.equal(hex(digest ?? new Uint8Array()), createHash('sha1').update(expected).digest('hex'));
    }
    assert.equal(hex(await collect(encryptChunks(key, []))), hex(opensslEncrypt(key, new Uint8Array(0))));
  });

  test('random chunkings give the same ciphertext', async () => {
    const data = new Uint8Array(randomBytes(5000));
    const expected = hex(opensslEncrypt(key, data));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 12 }), async (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), data.length];
        const chunks = points.slice(1).map((p, i) => data.subarray(points[i], p));
        assert.equal(hex(await collect(encryptChunks(key, chunks))), expected);
      }),
      { numRuns: 50 },
    );
  });

  test('the key of a file version never changes; another version gets another key', async () => {
    const keys = createBackupKeys();
    const kek = await deriveDeviceKek(keys, 'pw', 10);
    const a = backupCrypto(keys, kek, 10).forFile(entry());
    const b = backupCrypto(keys, kek, 10).forFile(entry());
    assert.equal(hex(a.encryptionKey), hex(b.encryptionKey));
    assert.equal(a.size, 1008);
    assert.notEqual(
      hex(fileKeyOf(keys.classKeys.get(3)?.key as Uint8Array, entry({ version: 1 }))),
      hex(fileKeyOf(keys.classKeys.get(3)?.key as Uint8Array, entry())),
    );
    assert.equal(a.encryptionKey[0], 3);
    assert.equal(backupCrypto(keys, kek, 10).forFile(entry({ protectionClass: 0 })).encryptionKey[0], 4);
  });

  test('Manifest.db: encrypted, opened again with the same keys only', async () => {
    const keys = createBackupKeys();
    const crypto = backupCrypto(keys, await deriveDeviceKek(keys, 'pw', 10), 10);
    const plain = new Uint8Array(randomBytes(8192));
    const { bytes, manifestKey } = crypto.manifest(plain);
    assert.equal(bytes.length, 8192 + 16);
    assert.equal(hex(decryptManifestDb(keys, bytes, { ManifestKey: manifestKey }) ?? new Uint8Array()), hex(plain));
    assert.equal(decryptManifestDb(createBackupKeys(), bytes, { ManifestKey: manifestKey }), null);
    assert.equal(decryptManifestDb(keys, bytes, { ManifestKey: new Uint8Array(3) }), null);
    assert.equal(decryptManifestDb(keys, bytes, {}), null);
  });
});

describe('password change and restore keys', () => {
  async function encryptedManifest(
    password: string,
  ): Promise<{ plist: Uint8Array; keys: ReturnType<typeof createBackupKeys> }> {
    const keys = createBackupKeys();
    const kek = await deriveDeviceKek(keys, password, 100);
    const d: PlistDict = { IsEncrypted: true, Version: '10.0', BackupKeyBag: keybagBytes(keys, kek, 100) };
    return { plist: serializeBinaryPlist(d), keys };
  }

  test('the re-wrapped keybag opens with the new password and holds the same class keys', async () => {
    const { plist, keys } = await encryptedManifest('old');
    const updated = await rewrapManifestPlist(plist, 'old', 'new');
    assert.ok(updated);
    const kb = (parsePlist(updated) as PlistDict).BackupKeyBag as Uint8Array;
    const unlocked = await unlockKeybag(kb, 'new');
    for (const [c, k] of keys.classKeys)
      assert.equal(hex(unlocked.classKeys.get(c) ?? new Uint8Array()), hex(k.key), `class ${c}`);
    await assert.rejects(unlockKeybag(kb, 'old'), (e: unknown) => isIbackupError(e) && e.code === 'WRONG_PASSWORD');
  });

  test('a wrong old password, a plain backup or damaged bytes leave the plist alone', async () => {
    const { plist } = await encryptedManifest('old');
    assert.equal(await rewrapManifestPlist(plist, 'wrong', 'new'), undefined);
    assert.equal(await rewrapManifestPlist(serializeBinaryPlist({ IsEncrypted: false }), 'old', 'new'), undefined);
    assert.equal(await rewrapManifestPlist(new Uint8Array([1, 2, 3]), 'old', 'new'), undefined);
    assert.equal(
      await rewrapManifestPlist(
        serializeBinaryPlist({ IsEncrypted: true, BackupKeyBag: new Uint8Array(7) }),
        'old',
        'new',
      ),
      undefined,
    );
  });

  test('restore opens a backup keybag with the right password only', async () => {
    const { plist, keys } = await encryptedManifest('pw');
    const manifest = parsePlist(plist) as PlistDict;
    const opened = await unlockBackupKeybag(manifest, 'pw');
    assert.ok(opened instanceof Map);
    assert.equal(hex(opened.get(4) ?? new Uint8Array()), hex(keys.classKeys.get(4)?.key ?? new Uint8Array()));
    assert.equal(await unlockBackupKeybag(manifest, 'nope'), null);
    assert.equal(await unlockBackupKeybag({ BackupKeyBag: new Uint8Array(9) }, 'pw'), 'damaged');
    assert.equal(await unlockBackupKeybag({}, 'pw'), 'damaged');
  });

  test('restore options: the device defaults for absent keys', () => {
    assert.deepEqual(parseRestoreOptions({}), {
      systemFiles: true,
      reboot: true,
      removeNotRestored: true,
      copyBackup: true,
      preserveSettings: true,
      password: undefined,
    });
    assert.deepEqual(
      parseRestoreOptions({
        Options: {
          RestoreSystemFiles: false,
          RestoreShouldReboot: false,
          RestoreDontCopyBackup: true,
          RemoveItemsNotRestored: false,
          Password: 'x',
        },
      }),
      {
        systemFiles: false,
        reboot: false,
        removeNotRestored: false,
        copyBackup: false,
        preserveSettings: true,
        password: 'x',
      },
    );
  });
});
