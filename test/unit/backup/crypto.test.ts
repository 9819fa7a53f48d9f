import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { hasCode } from '../../../src/errors.js';
import {
  deriveBackupKek,
  unlockKeybag,
  unlockWithDerivedKey,
  unwrapClassWrappedKey,
} from '../../../src/backup/crypto/keybag-unlock.js';
import { decryptChunks } from '../../../src/backup/crypto/decrypt.js';
import type { DecryptEnd } from '../../../src/backup/crypto/decrypt.js';
import { aesWrap, deriveKek } from '../../../src/protocol/crypto.js';
import { buildClassWrappedKey, buildKeybag } from '../../../src/protocol/keybag.js';
import type { Keybag, KeybagClassKey } from '../../../src/protocol/keybag.js';
import { pseudoRandom } from '../../support/backup-fixtures.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('hex');

function classBlock(cls: number, wrappedKey: Uint8Array, wrap = 2): KeybagClassKey {
  return { uuid: new Uint8Array(16).fill(cls), protectionClass: cls, wrap, keyType: 0, wrappedKey, unknown: [] };
}

function keybag(over: Partial<Keybag>): Keybag {
  return {
    version: 5,
    type: 1,
    uuid: new Uint8Array(16).fill(9),
    wrap: 0,
    salt: new Uint8Array(20),
    iterations: 10,
    classKeys: [],
    unknown: [],
    ...over,
  };
}

// backup-format.md §6.12, hashcat module_14800 self-test.
const HASHCAT = keybag({
  salt: hex('2721336781705041205314422175267631184867'),
  iterations: 10000,
  dpwt: 1,
  dpic: 1000,
  dpsl: hex('99fafc983e732998adb9fadc162a2e382143f115'),
  classKeys: [classBlock(1, hex('17a3b858e79bc273be43a9f113b71efe7ec8e7e401396b350180b4592ef45db67ffef7b2d64329a5'))],
});
const HASHCAT_KEK = 'ca1bdd8196307fe1e2ed421321267d96e2988bf12f736035192cfed20ec823ea';
const HASHCAT_CLASS_KEY = '2ed7042e87b50000fa6ba698661c000013194470a1f70000c35bd72ce0360000';

describe('keybag unlock', () => {
  test('hashcat vector (§6.12): KEK and unwrapped class key, from a keybag in TLV form', async () => {
    const bytes = buildKeybag(HASHCAT);
    assert.equal(toHex(await deriveBackupKek(bytes, 'hashcat')), HASHCAT_KEK);
    const u = await unlockKeybag(bytes, 'hashcat');
    assert.equal(toHex(u.kek), HASHCAT_KEK);
    assert.equal(toHex(u.classKeys.get(1)), HASHCAT_CLASS_KEY);
    assert.equal(u.doubleProtection, true);
    assert.deepEqual(u.uuid, new Uint8Array(16).fill(9));
    // The derived key alone opens it.
    assert.equal(toHex(unlockWithDerivedKey(bytes, hex(HASHCAT_KEK)).classKeys.get(1)), HASHCAT_CLASS_KEY);
  });

  test('hashcat vector: a wrong password → WRONG_PASSWORD', async () => {
    await assert.rejects(unlockKeybag(HASHCAT, 'hashcaT'), (e) => hasCode(e, 'WRONG_PASSWORD'));
    assert.throws(
      () => unlockWithDerivedKey(HASHCAT, new Uint8Array(32)),
      (e) => hasCode(e, 'WRONG_PASSWORD'),
    );
    assert.throws(
      () => unlockWithDerivedKey(HASHCAT, new Uint8Array(31)),
      (e) => hasCode(e, 'WRONG_PASSWORD'),
    );
  });

  test('HACKvent iOS 9 vector (§6.12): single PBKDF2 stage without DPSL/DPIC', async () => {
    const kb = keybag({ salt: hex('0834c7493b056222d7a7e382a69c0c6a06649d9a'), iterations: 10000 });
    assert.equal(
      toHex(await deriveBackupKek(kb, '20201225')),
      '38b97d556cace5fd1cfcbe67ec6a81277dfef5c5bacdfccdd32bb25467f56b25',
    );
  });

  test('wrong password is detected at the first class key, quickly', async () => {
    const params = { salt: new Uint8Array(20).fill(1), iterations: 10, dpsl: new Uint8Array(20).fill(2), dpic: 1000 };
    const kek = deriveKek('right', params);
    const classKeys = Array.from({ length: 11 }, (_, i) =>
      classBlock(11 - i, aesWrap(kek, new Uint8Array(32).fill(i + 1)), [5, 9, 10, 11].includes(11 - i) ? 3 : 2),
    );
    const kb = keybag({ ...params, dpwt: 1, classKeys });
    const t0 = performance.now();
    await assert.rejects(unlockKeybag(kb, 'wrong'), (e) => hasCode(e, 'WRONG_PASSWORD'));
    assert.ok(performance.now() - t0 < 10_000, 'rejected without a long search');
    const u = await unlockKeybag(kb, 'right');
    assert.equal(u.classKeys.size, 11);
    assert.deepEqual(u.classKeys.get(11), new Uint8Array(32).fill(1));
  });

  test('a later class key that does not unwrap is a damaged keybag, not a wrong password', () => {
    const kek = new Uint8Array(32).fill(5);
    const kb = keybag({
      classKeys: [classBlock(1, aesWrap(kek, new Uint8Array(32))), classBlock(2, new Uint8Array(40))],
    });
    assert.throws(
      () => unlockWithDerivedKey(kb, kek),
      (e) => hasCode(e, 'BACKUP_CORRUPT'),
    );
    // Classes not wrapped with the KEK (WRAP without bit 2) are skipped.
    const onlyDevice = keybag({
      classKeys: [classBlock(1, aesWrap(kek, new Uint8Array(32))), classBlock(9, new Uint8Array(40), 1)],
    });
    assert.equal(unlockWithDerivedKey(onlyDevice, kek).classKeys.size, 1);
    assert.throws(
      () => unlockWithDerivedKey(keybag({}), kek),
      (e) => hasCode(e, 'BACKUP_CORRUPT'),
    );
  });

  test('a malformed keybag → BACKUP_CORRUPT', async () => {
    await assert.rejects(unlockKeybag(new Uint8Array([1, 2, 3]), 'x'), (e) => hasCode(e, 'BACKUP_CORRUPT'));
    await assert.rejects(unlockKeybag(keybag({ iterations: 0 }), 'x'), (e) => hasCode(e, 'BACKUP_CORRUPT'));
  });

  test('class-prefixed keys: unwrap, unknown class, bad length, bad wrap', () => {
    const kek = new Uint8Array(32).fill(5);
    const classKey = new Uint8Array(32).fill(6);
    const u = unlockWithDerivedKey(keybag({ classKeys: [classBlock(3, aesWrap(kek, classKey))] }), kek);
    const fileKey = new Uint8Array(32).fill(7);
    const wrapped = buildClassWrappedKey({ protectionClass: 3, wrappedKey: aesWrap(classKey, fileKey) });
    assert.deepEqual(unwrapClassWrappedKey(u, wrapped, 'f'), fileKey);
    const other = buildClassWrappedKey({ protectionClass: 4, wrappedKey: aesWrap(classKey, fileKey) });
    assert.throws(
      () => unwrapClassWrappedKey(u, other, 'f'),
      (e) => hasCode(e, 'BACKUP_CORRUPT'),
    );
    assert.throws(
      () => unwrapClassWrappedKey(u, wrapped.subarray(0, 40), 'f'),
      (e) => hasCode(e, 'BACKUP_CORRUPT'),
    );
    const tampered = wrapped.slice();
    tampered[10] = (tampered[10] as number) ^ 1;
    assert.throws(
      () => unwrapClassWrappedKey(u, tampered, 'f'),
      (e) => hasCode(e, 'BACKUP_CORRUPT'),
    );
  });
});

/** AES-256-CBC, zero IV, PKCS#7, straight from node:crypto (independent of the code under test). */
function encrypt(key: Uint8Array, plain: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-256-cbc', key, new Uint8Array(16));
  return new Uint8Array(Buffer.concat([c.update(plain), c.final()]));
}

async function run(
  chunks: Uint8Array[],
  key: Uint8Array,
  opts: Parameters<typeof decryptChunks>[2] = {},
): Promise<Uint8Array> {
  async function* src(): AsyncGenerator<Uint8Array> {
    yield* chunks;
  }
  const parts: Uint8Array[] = [];
  for await (const p of decryptChunks(src(), key, opts)) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

describe('decryptChunks', () => {
  const key = new Uint8Array(32).fill(0x42);
  const plain = pseudoRandom(100, 11);
  const cipher = encrypt(key, plain);

  test('same plaintext at every split point', async () => {
    assert.equal(cipher.length, 112);
    for (let i = 0; i <= cipher.length; i++) {
      assert.deepEqual(await run([cipher.subarray(0, i), cipher.subarray(i)], key, { size: 100 }), plain, `split ${i}`);
    }
  });

  test('same plaintext for random chunkings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 112 }), { maxLength: 8 }), async (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), cipher.length];
        const chunks = points.slice(1).map((p, i) => cipher.subarray(points[i], p));
        assert.deepEqual(await run(chunks, key), plain);
      }),
      { numRuns: 100 },
    );
  });

  test('size reporting and the two size policies', async () => {
    const ends: DecryptEnd[] = [];
    assert.deepEqual(await run([cipher], key, { size: 100, onEnd: (e) => ends.push(e) }), plain);
    assert.deepEqual(await run([cipher], key, { size: 90, onEnd: (e) => ends.push(e) }), plain);
    assert.deepEqual(ends, [
      { bytes: 100, expectedSize: 100, sizeMatches: true },
      { bytes: 100, expectedSize: 90, sizeMatches: false },
    ]);
    // 'size': cut at Size, padding ignored.
    assert.deepEqual(await run([cipher], key, { size: 90, policy: 'size' }), plain.subarray(0, 90));
    assert.deepEqual(await run([cipher], key, { size: 100n, policy: 'size' }), plain);
    // An empty file: one block of padding.
    assert.deepEqual(await run([encrypt(key, new Uint8Array(0))], key, { size: 0 }), new Uint8Array(0));
  });

  test('bad padding, wrong key or a partial block → BACKUP_CORRUPT', async () => {
    await assert.rejects(run([cipher], new Uint8Array(32)), (e) => hasCode(e, 'BACKUP_CORRUPT'));
    await assert.rejects(run([cipher.subarray(0, 100)], key), (e) => hasCode(e, 'BACKUP_CORRUPT'));
    await assert.rejects(run([cipher.subarray(0, 96)], key), (e) => hasCode(e, 'BACKUP_CORRUPT'));
  });
});
