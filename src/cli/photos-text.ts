/** The words the CLI uses for a photo library, its iCloud Photos state and what a backup holds of it. */
import type { PhotoCountsRecord, PhotosStatus } from '../app/photos-status.js';
import { ICLOUD_PHOTOS_ADVICE } from '../app/photos-status.js';

const n = (k: number, one: string, many: string): string => `${k.toLocaleString('en-US')} ${k === 1 ? one : many}`;

function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
}

/** "12 photos, 3 videos (1 hidden, 2 in Recently Deleted)". */
export function libraryLine(l: PhotosStatus['library']): string {
  return `${n(l.photos, 'photo', 'photos')}, ${n(l.videos, 'video', 'videos')} (${l.hidden} hidden, ${l.recentlyDeleted} in Recently Deleted)`;
}

/** What a backup holds of the library, and the warning when photos are left out. */
export function backupPhotosLines(r: PhotoCountsRecord): string[] {
  const held = `${n(r.inBackup.photos, 'photo', 'photos')}, ${n(r.inBackup.videos, 'video', 'videos')}`;
  const lines = [
    `Photos:      ${held} in this backup of ${n(r.library.photos + r.library.videos, 'item', 'items')} in the library; iCloud Photos ${r.icloudPhotos}${r.measured ? '' : ' (counted from the library: the backup is encrypted)'}`,
  ];
  if (r.originalsNotOnDevice > 0) lines.push(`Only in iCloud: ${n(r.originalsNotOnDevice, 'original', 'originals')}`);
  if (r.icloudPhotos === 'on' && r.notInBackup > 0)
    lines.push(
      `Warning:     ${n(r.notInBackup, 'photo or video is', 'photos and videos are')} not in this backup. ${ICLOUD_PHOTOS_ADVICE}`,
    );
  return lines;
}

export function photosStatusText(s: PhotosStatus): string {
  const lines = [
    `Photo library: ${libraryLine(s.library)}`,
    `iCloud Photos: ${s.icloudPhotos}`,
    `Only in iCloud: ${n(s.originalsNotOnDevice, 'original', 'originals')} (not on the iPhone)`,
  ];
  const b = s.inLastBackup;
  if (b === null) lines.push('Last backup:   no record (back up the iPhone to see what a backup holds)');
  else
    lines.push(
      `Last backup:   ${n(b.inBackup.photos, 'photo', 'photos')}, ${n(b.inBackup.videos, 'video', 'videos')} (${when(b.date)}); ${n(b.notInBackup, 'item', 'items')} of the library not in it`,
    );
  if (s.advice !== null) lines.push(`Warning: ${s.advice}`);
  return lines.join('\n');
}
