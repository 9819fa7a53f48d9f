/** A backup whose photo library is large: for the grid's timing, without a phone to back up. */
import { generatedRecord } from '../../src/emulator/content/photo-library.js';
import { photosDbFiles, type PhotoAsset } from '../../src/emulator/content/photos-db.js';
import { photoPlan, renderPhoto } from '../../src/emulator/content/photos.js';
import { buildBackup, type FixtureEntry } from './backup-fixtures.js';

/**
 * A complete backup of `udid` (folder `<udid>-20991231-000000`, the newest) holding a library of
 * `count` assets: the phone's thumbnail for most, JPEG originals for the last few JPEGs, neither
 * for every 50th (an icon); encrypted with `password` when given. Returns its folder.
 */
export function bigPhotoBackup(root: string, udid: string, count: number, password?: string): string {
  const jpeg = renderPhoto(1, 'CameraRollDomain', 'thumb', 0, photoPlan(1, 'CameraRollDomain', 'thumb', 0, 48));
  const assets: PhotoAsset[] = [];
  const entries: FixtureEntry[] = [];
  const media = (p: string): FixtureEntry => ({
    domain: 'CameraRollDomain',
    relativePath: `Media/${p}`,
    kind: 'file',
    content: jpeg,
  });
  for (let n = 1; n <= count; n++) {
    const r = { ...generatedRecord(n, 0, 'off', false), hidden: false, trashed: false };
    const folder = `DCIM/${100 + Math.floor((n - 1) / 1000)}APPLE`;
    const filename = `IMG_${String(((n - 1) % 9999) + 1).padStart(4, '0')}.${r.format}`;
    assets.push({
      record: r,
      uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      directory: folder,
      filename,
      created: 1_600_000_000 + n * 600,
      modified: 1_600_000_000 + n * 600,
      width: 48,
      height: 36,
      size: jpeg.length,
    });
    if (n % 50 === 0) continue;
    entries.push(media(`PhotoData/Thumbnails/V2/${folder}/${filename}/5005.JPG`));
    if (r.format === 'JPG' && n > count - 40) entries.push(media(`${folder}/${filename}`));
  }
  const db = photosDbFiles(assets, { seed: 1, icloud: 'off', iosMajor: 17 }, (k) => `ALBUM-${k}`);
  entries.push(
    { domain: 'CameraRollDomain', relativePath: 'Media/PhotoData/Photos.sqlite', kind: 'file', content: db.db },
    { domain: 'CameraRollDomain', relativePath: 'Media/PhotoData/Photos.sqlite-wal', kind: 'file', content: db.wal },
  );
  const statusDate = new Date('2099-12-31T00:00:00Z');
  return buildBackup(root, {
    udid,
    folder: `${udid}-20991231-000000`,
    entries,
    statusDate,
    ...(password === undefined ? {} : { password }),
  }).dir;
}
