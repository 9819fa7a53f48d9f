import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { DeviceContent, type DeviceEntry } from '../../../src/emulator/content/index.js';
import { photoPlan, renderPhoto } from '../../../src/emulator/content/photos.js';
import { builtInProfile } from '../../../src/emulator/profile.js';
import { withPhotosDb } from '../../support/photos-db.js';

/** Marker codes of the segments before the scan, read by walking the segment lengths. */
function segmentMarkers(bytes: Uint8Array): number[] {
  const markers: number[] = [];
  let at = 2;
  while (at + 4 <= bytes.length) {
    assert.equal(bytes[at], 0xff, `marker at ${at}`);
    const marker = bytes[at + 1] as number;
    markers.push(marker);
    if (marker === 0xda) return markers;
    at += 2 + (((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number));
  }
  assert.fail('no start of scan');
}

describe('camera roll photos', () => {
  const content = DeviceContent.build(builtInProfile('tiny').content);
  // JPEG originals, rendered edits and the phone's thumbnails.
  const photos = [...content.under('CameraRollDomain', 'Media/')].filter((e) => e.source === 'photo');

  test('every photo is a JPEG that decodes to the size Photos.sqlite gives, distinct and incompressible', async () => {
    assert.ok(photos.length >= 5);
    const dimsOf = await withPhotosDb(content, (db) => {
      const all = db.prepare('SELECT ZFILENAME AS name, ZWIDTH AS width, ZHEIGHT AS height FROM ZASSET').all();
      return new Map((all as { name: string; width: number; height: number }[]).map((r) => [r.name, r]));
    });
    const originals = photos.filter((e) => e.relativePath.startsWith('Media/DCIM/'));
    assert.ok(originals.length >= 2);
    const pixelHashes = new Set<string>();
    for (const e of photos) {
      const bytes = await content.read(e, 0, e.size);
      assert.equal(bytes.length, e.size);
      assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], 'SOI');
      assert.deepEqual([...bytes.subarray(-2)], [0xff, 0xd9], 'EOI');
      const markers = segmentMarkers(bytes);
      assert.equal(markers[0], 0xe0, 'JFIF first');
      for (const m of [0xdb, 0xc0, 0xc4, 0xef]) assert.ok(markers.includes(m), `segment ${m.toString(16)}`);
      const image = jpeg.decode(bytes, { useTArray: true });
      const expected = dimsOf.get(e.relativePath.split('/').pop() as string);
      if (expected !== undefined)
        assert.deepEqual(
          { width: image.width, height: image.height },
          { width: expected.width, height: expected.height },
        );
      else assert.ok(!e.relativePath.startsWith('Media/DCIM/'), `${e.relativePath} is listed`);
      assert.ok(image.width >= 16 && image.height >= 16 && Math.max(image.width, image.height) <= 1024);
      pixelHashes.add(createHash('sha1').update(image.data).digest('hex'));
      const ratio = deflateSync(bytes).length / bytes.length;
      assert.ok(ratio > 0.95, `${e.relativePath} deflates to ${ratio}`);
    }
    assert.equal(pixelHashes.size, photos.length, 'pixels differ between photos');
  });

  test('photos are the same in another build of the same spec, and change with their version', async () => {
    const again = DeviceContent.build(builtInProfile('tiny').content);
    const e = photos[0] as DeviceEntry;
    assert.deepEqual(await again.digest(e), await content.digest(e));
    const seed = content.spec.seed;
    const v1 = photoPlan(seed, e.domain, e.relativePath, 1, 256);
    const b1 = renderPhoto(seed, e.domain, e.relativePath, 1, v1);
    assert.equal(b1.length, v1.size);
    assert.notDeepEqual(createHash('sha1').update(b1).digest(), Buffer.from(await content.digest(e)));
  });

  test('a photo whose encoding does not leave room for padding is re-encoded to fit exactly', () => {
    // A plan with no slack forces the lower-quality path.
    const plan = { width: 40, height: 40, quality: 85, size: 2400 };
    const bytes = renderPhoto(7, 'CameraRollDomain', 'Media/DCIM/100APPLE/IMG_9000.JPG', 0, plan);
    assert.equal(bytes.length, 2400);
    const image = jpeg.decode(bytes, { useTArray: true });
    assert.equal(image.width, 40);
  });
});
