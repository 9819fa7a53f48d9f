import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import jpeg from 'jpeg-js';
import { openPhotoGrid } from '../../../src/app/photos-grid.js';
import { tempRoot } from '../../support/backup-fixtures.js';
import { bigPhotoBackup } from '../../support/photos-backup.js';

describe('a backup’s photo grid', () => {
  test('encrypted: refused without the password; with it, pages newest first and images that decode', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const dir = bigPhotoBackup(root, '00008030-001A2B3C4D5E802E', 120, 'grid pw');
      await assert.rejects(openPhotoGrid(dir), { code: 'PASSWORD_REQUIRED' });
      await assert.rejects(openPhotoGrid(dir, { password: async () => 'wrong' }), { code: 'WRONG_PASSWORD' });
      const grid = await openPhotoGrid(dir, { password: async () => 'grid pw' });
      try {
        assert.equal(grid.total, 120);
        assert.equal(grid.encrypted, true);
        const first = await grid.page(0, 50);
        assert.equal(first.length, 50);
        assert.equal(first[0]?.name, 'IMG_0120.JPG', 'newest first');
        const dates = first.map((t) => t.created ?? '');
        assert.deepEqual(dates, [...dates].sort().reverse());
        assert.deepEqual(
          (await grid.page(100, 50)).map((t) => t.id),
          Array.from({ length: 20 }, (_, i) => 100 + i),
        );
        const shows = new Set(first.map((t) => t.show));
        assert.deepEqual([...shows].sort(), ['icon', 'original', 'thumbnail']);
        for (const t of first) {
          const image = await grid.image(t.id);
          if (t.show === 'icon') assert.equal(image, null);
          else {
            assert.equal(image?.type, 'image/jpeg');
            const decoded = jpeg.decode(image?.bytes as Uint8Array, { useTArray: true });
            assert.ok(decoded.width > 0 && decoded.height > 0);
          }
        }
        assert.equal(await grid.image(9999), null);
      } finally {
        grid.close();
      }
    } finally {
      cleanup();
    }
  });
});
