/**
 * The doctor's look at the photo library: whether iCloud Photos keeps photos out of computer
 * backups (a warning with what to do), or how many photos and videos a backup takes. It reads
 * Photos.sqlite over AFC; a library that cannot be read is said, never a failure of the doctor.
 */
import type { HostDevice } from '../host/device.js';
import { readDeviceLibrary, ICLOUD_PHOTOS_ADVICE } from './photos-status.js';
import { libraryCounts, originalsNotOnDevice } from '../export/photos-library.js';

export interface PhotosCheck {
  id: 'photos';
  ok: true;
  message: string;
  remedy: string;
  udid: string;
  warning?: boolean;
}

export async function photosCheck(device: HostDevice, signal?: AbortSignal): Promise<PhotosCheck> {
  const udid = device.udid;
  try {
    const lib = await readDeviceLibrary(device, signal);
    const c = libraryCounts(lib);
    const items = `${c.photos} photos and ${c.videos} videos`;
    if (lib.icloudPhotos === 'on' && c.photos + c.videos > 0) {
      const cloud = originalsNotOnDevice(lib);
      return {
        id: 'photos',
        ok: true,
        warning: true,
        udid,
        message: `iCloud Photos is on: the ${items} of the library are not in computer backups${cloud > 0 ? ` (${cloud} originals are only in iCloud)` : ''}.`,
        remedy: ICLOUD_PHOTOS_ADVICE,
      };
    }
    return {
      id: 'photos',
      ok: true,
      udid,
      remedy: '',
      message: `Photo library: ${items}; iCloud Photos ${lib.icloudPhotos}, so backups take them.`,
    };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return {
      id: 'photos',
      ok: true,
      warning: true,
      udid,
      message: `The photo library could not be read: ${why}`,
      remedy: '',
    };
  }
}
