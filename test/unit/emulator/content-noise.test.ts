import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DeviceContent, type DeviceEntry } from '../../../src/emulator/content/index.js';
import { mediaHeader } from '../../../src/emulator/content/media.js';
import { POOL_BYTES } from '../../../src/emulator/content/random.js';

const sha1 = async (c: DeviceContent, e: DeviceEntry): Promise<string> => {
  const h = createHash('sha1');
  for await (const chunk of c.openContent(e)) h.update(chunk);
  return h.digest('hex');
};

describe('generated file bytes (the seeded noise pool)', () => {
  test('same seed, same bytes; another seed or a modification, other bytes; no two files alike', async () => {
    const spec = { seed: 11, files: 400, bytes: 8 << 20, hugeFiles: [] };
    const a = DeviceContent.build(spec);
    const b = DeviceContent.build(spec);
    const other = DeviceContent.build({ ...spec, seed: 12 });
    const files = [...a.entries()].filter((e) => e.kind === 'file' && e.source === 'noise' && e.size > 64).slice(0, 60);
    assert.ok(files.length >= 50);
    const seen = new Set<string>();
    for (const e of files) {
      const digest = await sha1(a, e);
      assert.equal(await sha1(b, b.get(e.domain, e.relativePath) as DeviceEntry), digest);
      const twin = other.get(e.domain, e.relativePath);
      if (twin?.kind === 'file' && twin.size === e.size) assert.notEqual(await sha1(other, twin), digest);
      seen.add(digest);
    }
    assert.equal(seen.size, files.length);
    // `b` is the same device, unmodified.
    const modified = a.mutate('modify', 5).modified;
    assert.ok(modified.length > 0);
    let compared = 0;
    for (const ref of modified) {
      const now = a.get(ref.domain, ref.relativePath) as DeviceEntry;
      const old = b.get(ref.domain, ref.relativePath) as DeviceEntry;
      if (now.source !== 'noise') continue;
      assert.notEqual(await sha1(a, now), await sha1(b, old));
      compared++;
    }
    assert.ok(compared > 0);
  });

  test('a file larger than the pool wraps around it; reads at any offset agree with the stream', async () => {
    const size = POOL_BYTES * 2 + 12_345;
    const c = DeviceContent.build({ seed: 5, files: 20, bytes: 1 << 20, hugeFiles: [size] });
    const video = [...c.entries()].find((e) => e.kind === 'file' && e.size === size) as DeviceEntry;
    let n = 0;
    const chunks: Uint8Array[] = [];
    for await (const chunk of c.openContent(video, { chunkSize: 3 << 20 })) {
      assert.ok(chunk.length <= 3 << 20);
      chunks.push(chunk);
      n += chunk.length;
    }
    assert.equal(n, size);
    const whole = Buffer.concat(chunks);
    for (const offset of [0, 7, 40, 63, POOL_BYTES - 10, POOL_BYTES * 2 - 3, size - 100]) {
      assert.deepEqual(
        Buffer.from(await c.read(video, offset, 100)),
        whole.subarray(offset, offset + 100),
        `offset ${offset}`,
      );
    }
    assert.equal(whole.subarray(4, 8).toString('latin1'), 'ftyp');
  });
});

describe('generated file headers', () => {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  test('a movie starts with its ftyp box and a 64-bit mdat header sized to the rest of the file', () => {
    // ftyp: length 20, "ftyp", brand "qt  ", version 0, compatible "qt  "; then mdat: size 1 (64-bit
    // size follows), "mdat", 5 000 - 20 = 4 980.
    const want =
      '00000014' +
      '66747970' +
      '71742020' +
      '00000000' +
      '71742020' +
      '00000001' +
      '6d646174' +
      '00000000' +
      '00001374';
    assert.equal(hex(mediaHeader('Media/DCIM/100APPLE/IMG_0001.MOV', 5000)), want);
    assert.equal(hex(mediaHeader('a.mov', 2 ** 33 + 20)).slice(-16), '0000000200000000');
    assert.equal(hex(mediaHeader('a.mov', 10)), want.slice(0, 20), 'cut at the end of a tiny file');
  });

  test('a PDF, an AMR note; other names and no extension get no header', () => {
    assert.equal(
      Buffer.from(mediaHeader('Docs/x.pdf', 100)).toString('latin1'),
      '%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n',
    );
    assert.equal(Buffer.from(mediaHeader('Recordings/1.amr', 100)).toString('latin1'), '#!AMR\n');
    for (const name of ['Library/x.sqlite', 'README', 'a.movie', 'dir.mov/file'])
      assert.equal(mediaHeader(name, 100).length, 0, name);
  });
});
