import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  aesCbcDecrypt,
  aesCbcDecryptRaw,
  aesCbcEncrypt,
  aesUnwrap,
  aesWrap,
  cbcPaddedLength,
  CbcDecryptor,
  CbcEncryptor,
  deriveKek,
  deriveKekAsync,
  randomBytes,
  sha1,
} from '../../../src/protocol/crypto.js';
import { hasCode } from '../../../src/errors.js';

const hex = (s: string): Uint8Array =>
  Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const isDecode = (e: unknown): boolean => hasCode(e, 'PROTOCOL_DECODE');

// RFC 3394 §4 test vectors.
const KEK128 = '000102030405060708090A0B0C0D0E0F';
const KEK192 = '000102030405060708090A0B0C0D0E0F1011121314151617';
const KEK256 = '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F';
const RFC3394 = [
  {
    kek: KEK128,
    key: '00112233445566778899AABBCCDDEEFF',
    wrapped: '1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5',
  },
  {
    kek: KEK192,
    key: '00112233445566778899AABBCCDDEEFF',
    wrapped: '96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D',
  },
  {
    kek: KEK256,
    key: '00112233445566778899AABBCCDDEEFF',
    wrapped: '64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7',
  },
  {
    kek: KEK192,
    key: '00112233445566778899AABBCCDDEEFF0001020304050607',
    wrapped: '031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2',
  },
  {
    kek: KEK256,
    key: '00112233445566778899AABBCCDDEEFF0001020304050607',
    wrapped: 'A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1',
  },
  {
    kek: KEK256,
    key: '00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F',
    wrapped: '28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21',
  },
];

// hashcat mode 14800 self-test vector (DPIC 1000 keeps it fast).
const HASHCAT = {
  password: 'hashcat',
  wpky: hex('17a3b858e79bc273be43a9f113b71efe7ec8e7e401396b350180b4592ef45db67ffef7b2d64329a5'),
  params: {
    salt: hex('2721336781705041205314422175267631184867'),
    iterations: 10000,
    dpsl: hex('99fafc983e732998adb9fadc162a2e382143f115'),
    dpic: 1000,
  },
  kek: 'ca1bdd8196307fe1e2ed421321267d96e2988bf12f736035192cfed20ec823ea',
  classKey: '2ed7042e87b50000fa6ba698661c000013194470a1f70000c35bd72ce0360000',
};

describe('RFC 3394 key wrap', () => {
  for (const v of RFC3394) {
    test(`KEK ${v.kek.length * 4} bits, key ${v.key.length * 4} bits`, () => {
      assert.equal(toHex(aesWrap(hex(v.kek), hex(v.key))), v.wrapped.replace(/ /g, '').toLowerCase());
      assert.deepEqual(aesUnwrap(hex(v.kek), hex(v.wrapped)), hex(v.key));
    });
  }

  test('a wrong KEK or a flipped bit fails the integrity check (null)', () => {
    const v = RFC3394[5];
    assert.ok(v);
    const badKek = hex(v.kek);
    badKek[0] = (badKek[0] ?? 0) ^ 1;
    assert.equal(aesUnwrap(badKek, hex(v.wrapped)), null);
    const badWrapped = hex(v.wrapped);
    badWrapped[39] = (badWrapped[39] ?? 0) ^ 0x80;
    assert.equal(aesUnwrap(hex(v.kek), badWrapped), null);
  });

  test('wrapped lengths that cannot be RFC 3394 throw PROTOCOL_DECODE', () => {
    const kek = hex(KEK256);
    for (const n of [0, 8, 16, 39, 41]) {
      assert.throws(() => aesUnwrap(kek, new Uint8Array(n)), isDecode, `length ${n}`);
    }
  });

  test('wrap/unwrap round-trips random 32-byte keys', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (kek, key) => {
          const w = aesWrap(kek, key);
          assert.equal(w.length, 40);
          assert.deepEqual(aesUnwrap(kek, w), key);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('password → KEK', () => {
  test('hashcat 14800 vector: double PBKDF2 then class-key unwrap', () => {
    const kek = deriveKek(HASHCAT.password, HASHCAT.params);
    assert.equal(toHex(kek), HASHCAT.kek);
    assert.equal(toHex(aesUnwrap(kek, HASHCAT.wpky) ?? new Uint8Array()), HASHCAT.classKey);
  });

  test('hashcat vector, asynchronous derivation gives the same KEK', async () => {
    const kek = await deriveKekAsync(HASHCAT.password, HASHCAT.params);
    assert.equal(toHex(kek), HASHCAT.kek);
  });

  test('hashcat vector: a wrong password fails the unwrap', () => {
    const kek = deriveKek('hashcaT', HASHCAT.params);
    assert.equal(aesUnwrap(kek, HASHCAT.wpky), null);
  });

  test('password given as bytes equals the UTF-8 string', () => {
    const kek = deriveKek(new TextEncoder().encode(HASHCAT.password), HASHCAT.params);
    assert.equal(toHex(kek), HASHCAT.kek);
  });

  test('iOS 9 keybag (no DPSL/DPIC): single SHA-1 stage', async () => {
    const params = { salt: hex('0834c7493b056222d7a7e382a69c0c6a06649d9a'), iterations: 10000 };
    const expected = '38b97d556cace5fd1cfcbe67ec6a81277dfef5c5bacdfccdd32bb25467f56b25';
    assert.equal(toHex(deriveKek('20201225', params)), expected);
    assert.equal(toHex(await deriveKekAsync('20201225', params)), expected);
  });

  test('hostile parameters throw PROTOCOL_DECODE before any work', async () => {
    const salt = new Uint8Array(20);
    assert.throws(() => deriveKek('x', { salt, iterations: 0 }), isDecode);
    assert.throws(() => deriveKek('x', { salt, iterations: 0xffffffff }), isDecode);
    assert.throws(() => deriveKek('x', { salt, iterations: 1, dpsl: salt, dpic: 0xffffffff }), isDecode);
    assert.throws(() => deriveKek('x', { salt, iterations: 1, dpsl: salt }), isDecode);
    await assert.rejects(deriveKekAsync('x', { salt, iterations: 1, dpic: 5 }), isDecode);
  });
});

// NIST SP 800-38A F.2.5 (CBC-AES256), first two blocks; padding block from `openssl enc`.
const NIST = {
  key: hex('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4'),
  iv: hex('000102030405060708090a0b0c0d0e0f'),
  plain: hex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51'),
  cipher: hex('f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d'),
  padBlock: hex('3a3aa5e0213db1a9901f9036cf5102d2'),
};
const KEY = hex(KEK256);
// `openssl enc -aes-256-cbc` with a zero IV.
const HELLO_CT = hex('310f2e2a13c4c00fb8daeb460c3d0edd');
const EMPTY_CT = hex('9f3b7504926f8bd36e3118e903a4cd4a');

describe('AES-256-CBC', () => {
  test('NIST vector with PKCS#7', () => {
    const ct = aesCbcEncrypt(NIST.key, NIST.plain, NIST.iv);
    assert.deepEqual(ct, new Uint8Array([...NIST.cipher, ...NIST.padBlock]));
    assert.deepEqual(aesCbcDecrypt(NIST.key, ct, NIST.iv), NIST.plain);
    assert.deepEqual(aesCbcDecryptRaw(NIST.key, NIST.cipher, NIST.iv), NIST.plain);
  });

  test('zero IV is the default; empty content is one block of padding', () => {
    const hello = new TextEncoder().encode('hello, backup');
    assert.deepEqual(aesCbcEncrypt(KEY, hello), HELLO_CT);
    assert.deepEqual(aesCbcDecrypt(KEY, HELLO_CT), hello);
    assert.deepEqual(aesCbcEncrypt(KEY, new Uint8Array()), EMPTY_CT);
    assert.deepEqual(aesCbcDecrypt(KEY, EMPTY_CT), new Uint8Array());
    const raw = aesCbcDecryptRaw(KEY, EMPTY_CT);
    assert.deepEqual(raw, new Uint8Array(16).fill(16));
  });

  test('padded length is 16·(floor(n/16)+1)', () => {
    assert.equal(cbcPaddedLength(0), 16);
    assert.equal(cbcPaddedLength(15), 16);
    assert.equal(cbcPaddedLength(16), 32);
    assert.equal(cbcPaddedLength(4096 * 802), 4096 * 802 + 16);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (p) => {
        assert.equal(aesCbcEncrypt(KEY, p).length, cbcPaddedLength(p.length));
      }),
      { numRuns: 50 },
    );
  });

  test('malformed ciphertext throws PROTOCOL_DECODE', () => {
    assert.throws(() => aesCbcDecrypt(KEY, new Uint8Array(17)), isDecode);
    assert.throws(() => aesCbcDecrypt(KEY, new Uint8Array()), isDecode);
    assert.throws(() => aesCbcDecryptRaw(KEY, new Uint8Array(15)), isDecode);
    // The first block of the encryption of 16 zero bytes decrypts to a pad byte of 0: invalid.
    const zeros = aesCbcEncrypt(KEY, new Uint8Array(16)).subarray(0, 16);
    assert.throws(() => aesCbcDecrypt(KEY, zeros), isDecode);
  });

  test('incremental decryption gives the same output at every split point', () => {
    const content = new Uint8Array(77).map((_, i) => (i * 7 + 3) & 0xff);
    const ct = aesCbcEncrypt(KEY, content);
    for (let split = 0; split <= ct.length; split++) {
      const d = new CbcDecryptor(KEY);
      const out = [d.push(ct.subarray(0, split)), d.push(ct.subarray(split)), d.finish()];
      assert.deepEqual(Uint8Array.from(out.flatMap((p) => [...p])), content, `split ${split}`);
    }
  });

  test('incremental encryption and decryption under random chunkings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 8 }), (content, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (content.length + 1)))].sort((a, b) => a - b);
        const chunks = (data: Uint8Array, ps: number[]): Uint8Array[] => {
          const out: Uint8Array[] = [];
          let at = 0;
          for (const p of [...ps.filter((x) => x <= data.length), data.length]) {
            out.push(data.subarray(at, p));
            at = p;
          }
          return out;
        };
        const e = new CbcEncryptor(KEY);
        const ctParts = chunks(content, points).map((c) => e.push(c));
        ctParts.push(e.finish());
        const ct = Uint8Array.from(ctParts.flatMap((p) => [...p]));
        assert.deepEqual(ct, aesCbcEncrypt(KEY, content));
        const d = new CbcDecryptor(KEY);
        const ptParts = chunks(ct, points).map((c) => d.push(c));
        ptParts.push(d.finish());
        assert.deepEqual(Uint8Array.from(ptParts.flatMap((p) => [...p])), content);
      }),
      { numRuns: 100 },
    );
  });
});

describe('hashing and randomness', () => {
  test('sha1 matches the fileID rule example', () => {
    assert.equal(toHex(sha1('HomeDomain-Library/SMS/sms.db')), '3d0d7e5fb2ce288813306e4d4636395e047a3d28');
  });

  test('randomBytes returns fresh bytes of the asked length', () => {
    const a = randomBytes(32);
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, randomBytes(32));
  });
});
