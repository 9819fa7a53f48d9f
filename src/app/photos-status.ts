/**
 * `photos status`: what the phone's photo library holds (read over AFC from Photos.sqlite and its
 * -wal, so it works before the first backup), whether iCloud Photos is on (inferred from the
 * library), how many originals are only in iCloud, and what the last backup held of it (recorded
 * when that backup was made, so an encrypted backup needs no password), with what to do when
 * photos are missing from computer backups.
 */
import { readPhotoCounts, recordFor, type PhotoCountsRecord } from '../backup/photo-counts.js';
import { readLibraryFrom } from '../export/photos-files.js';
import {
  libraryCounts,
  originalsNotOnDevice,
  type IcloudPhotosState,
  type LibraryCounts,
  type PhotoLibrary,
} from '../export/photos-library.js';
import type { HostDevice } from '../host/device.js';
import { findLastBackup } from './last-backup.js';
import { devicePhotoFiles } from './photos-device.js';

export type { PhotoCountsRecord } from '../backup/photo-counts.js';

export interface PhotosStatus {
  udid: string;
  library: LibraryCounts;
  icloudPhotos: IcloudPhotosState;
  originalsNotOnDevice: number;
  /** What the last backup held, recorded when it was made (null: no backup, or made without the record). */
  inLastBackup: PhotoCountsRecord | null;
  /** What to do when photos are missing from computer backups (null when none are). */
  advice: string | null;
}

/** The words every face uses when iCloud Photos keeps photos out of computer backups. */
export const ICLOUD_PHOTOS_ADVICE =
  'These photos are not in computer backups while iCloud Photos is on: copy them with `ibackup photos export` ' +
  '(originals on the phone), or turn on Download and Keep Originals, wait until they are downloaded, then turn ' +
  'iCloud Photos off keeping the downloads, and back up again.';

export function adviceFor(icloud: IcloudPhotosState, library: LibraryCounts): string | null {
  return icloud === 'on' && library.photos + library.videos > 0 ? ICLOUD_PHOTOS_ADVICE : null;
}

/** Reads the phone's library over AFC. */
export async function readDeviceLibrary(device: HostDevice, signal?: AbortSignal): Promise<PhotoLibrary> {
  const afc = await devicePhotoFiles(device, signal);
  try {
    return await readLibraryFrom(afc.files);
  } finally {
    afc.close();
  }
}

export interface PhotosStatusOptions {
  backupRoots: readonly string[];
  signal?: AbortSignal;
}

export async function photosStatus(device: HostDevice, opts: PhotosStatusOptions): Promise<PhotosStatus> {
  const lib = await readDeviceLibrary(device, opts.signal);
  const library = libraryCounts(lib);
  const last = await findLastBackup(opts.backupRoots, device.udid);
  let inLastBackup: PhotoCountsRecord | null = null;
  if (last !== null) {
    for (const root of opts.backupRoots) {
      const records = await readPhotoCounts(root, device.udid);
      inLastBackup = records.length > 0 ? recordFor(records, last.date.toISOString()) : null;
      if (inLastBackup !== null) break;
    }
  }
  return {
    udid: device.udid,
    library,
    icloudPhotos: lib.icloudPhotos,
    originalsNotOnDevice: originalsNotOnDevice(lib),
    inLastBackup,
    advice: adviceFor(lib.icloudPhotos, library),
  };
}
