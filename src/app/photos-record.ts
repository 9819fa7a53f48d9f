/**
 * After each backup: what it holds of the phone's photo library, recorded beside the backups
 * (backup/photo-counts.ts). An unencrypted backup is counted from its own list of files and its
 * own copy of the library (read from the phone over AFC only when the backup has none, or it
 * cannot be read); an encrypted one (whose files need the password) is predicted from the
 * library, read from the phone: a computer backup leaves the camera roll out while iCloud Photos
 * is on (Apple: "data already stored in iCloud, like iCloud Photos") and holds the originals on
 * the phone otherwise.
 */
import { addPhotoCounts, type PhotoCountsRecord } from '../backup/photo-counts.js';
import { backupPhotoFiles, readLibraryFrom, type PhotoFiles } from '../export/photos-files.js';
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

/** The library, and what the backup holds of it (see the module comment). */
async function libraryAndHeld(
  made: BackupMade,
  deviceLibrary: () => Promise<PhotoLibrary>,
): Promise<{ lib: PhotoLibrary; held: LibraryAsset[] }> {
  if (made.encrypted) {
    const lib = await deviceLibrary();
    return { lib, held: predictedIn(lib) };
  }
  const view = await openBackupView(made.path);
  try {
    const files = backupPhotoFiles(view);
    // The backup holds the library as the phone had it when it backed up: read from the disk, it
    // costs no transfer from the phone (the library grows with the photos). A backup without one,
    // or whose copy cannot be read, is counted against the phone's.
    const lib = await readLibraryFrom(files).catch(() => deviceLibrary());
    return { lib, held: await measuredIn(lib, files) };
  } finally {
    view.close();
  }
}

/**
 * What the backup holds of the library (see the module comment). `deviceLibrary` reads it from
 * the phone: for an encrypted backup, or one without the library.
 */
export async function photoCountsOf(
  made: BackupMade,
  deviceLibrary: () => Promise<PhotoLibrary>,
): Promise<PhotoCountsRecord> {
  const { lib, held } = await libraryAndHeld(made, deviceLibrary);
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

/** Reads the library (from the new backup, or over AFC) and records what the backup holds of it. */
export async function recordBackupPhotos(
  device: HostDevice,
  made: BackupMade,
  root: string,
): Promise<PhotoCountsRecord> {
  const record = await photoCountsOf(made, () => readDeviceLibrary(device));
  await addPhotoCounts(root, made.udid, record);
  return record;
}
