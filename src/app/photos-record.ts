/**
 * After each backup: what it holds of the phone's photo library, recorded beside the backups
 * (backup/photo-counts.ts). An unencrypted backup is counted from its own list of files; an
 * encrypted one (whose list needs the password) is predicted from the library: a computer backup
 * leaves the camera roll out while iCloud Photos is on (Apple: "data already stored in iCloud,
 * like iCloud Photos") and holds the originals on the phone otherwise.
 */
import { addPhotoCounts, type PhotoCountsRecord } from '../backup/photo-counts.js';
import { backupPhotoFiles, type PhotoFiles } from '../export/photos-files.js';
import { libraryCounts, originalsNotOnDevice, type LibraryAsset, type PhotoLibrary } from '../export/photos-library.js';
import type { HostDevice } from '../host/device.js';
import { openBackupView } from './backup-view.js';
import { readDeviceLibrary } from './photos-status.js';

export interface BackupMade {
  udid: string;
  path: string;
  date: string;
  encrypted: boolean;
}

const counted = (a: LibraryAsset): boolean => !a.trashed;

async function measuredIn(lib: PhotoLibrary, files: PhotoFiles): Promise<LibraryAsset[]> {
  const out: LibraryAsset[] = [];
  for (const a of lib.assets.filter(counted))
    if ((await files.size(`${a.directory}/${a.filename}`)) !== null) out.push(a);
  return out;
}

function predictedIn(lib: PhotoLibrary): LibraryAsset[] {
  if (lib.icloudPhotos === 'on') return [];
  return lib.assets.filter((a) => counted(a) && a.local !== false);
}

/** What the backup holds of the library (see the module comment). */
export async function photoCountsOf(lib: PhotoLibrary, made: BackupMade): Promise<PhotoCountsRecord> {
  let held: LibraryAsset[];
  if (made.encrypted) held = predictedIn(lib);
  else {
    const view = await openBackupView(made.path);
    try {
      held = await measuredIn(lib, backupPhotoFiles(view));
    } finally {
      view.close();
    }
  }
  const library = libraryCounts(lib);
  const videos = held.filter((a) => a.kind === 'video').length;
  return {
    date: made.date,
    path: made.path,
    encrypted: made.encrypted,
    icloudPhotos: lib.icloudPhotos,
    library,
    originalsNotOnDevice: originalsNotOnDevice(lib),
    inBackup: { photos: held.length - videos, videos },
    notInBackup: library.photos + library.videos - held.length,
    measured: !made.encrypted,
  };
}

/** Reads the library over AFC and records what the new backup holds of it. */
export async function recordBackupPhotos(
  device: HostDevice,
  made: BackupMade,
  root: string,
): Promise<PhotoCountsRecord> {
  const record = await photoCountsOf(await readDeviceLibrary(device), made);
  await addPhotoCounts(root, made.udid, record);
  return record;
}
