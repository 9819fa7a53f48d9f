/**
 * `photos export`: copies the originals on the phone over AFC, or out of a backup (encrypted too),
 * into a folder (export/photos-export.ts does the copying). Ctrl-C ends it cleanly as CANCELLED.
 */
import { IbackupError } from '../errors.js';
import { exportPhotos, type PhotoExportOptions, type PhotoExportResult } from '../export/photos-export.js';
import { backupPhotoFiles, readLibraryFrom } from '../export/photos-files.js';
import type { HostDevice } from '../host/device.js';
import { openBackupView, type OpenViewOptions } from './backup-view.js';
import { devicePhotoFiles } from './photos-device.js';

export type { PhotoExportOptions, PhotoExportProgress, PhotoExportResult } from '../export/photos-export.js';

function cancelled(signal: AbortSignal | undefined, err: unknown): unknown {
  return signal?.aborted === true && !(err instanceof IbackupError)
    ? new IbackupError('CANCELLED', {
        message: 'The photo export was stopped; the files copied so far are kept.',
        cause: err,
      })
    : err;
}

/** Copies the originals that are on the phone. */
export async function exportDevicePhotos(device: HostDevice, opts: PhotoExportOptions): Promise<PhotoExportResult> {
  const afc = await devicePhotoFiles(device, opts.signal);
  try {
    return await exportPhotos(await readLibraryFrom(afc.files), afc.files, opts);
  } catch (err) {
    throw cancelled(opts.signal, err);
  } finally {
    afc.close();
  }
}

/** Copies the originals a backup holds (an encrypted one is opened with its password or cached key). */
export async function exportBackupPhotos(
  dir: string,
  opts: PhotoExportOptions & { unlock?: OpenViewOptions },
): Promise<PhotoExportResult> {
  const view = await openBackupView(dir, opts.unlock ?? {});
  try {
    const files = backupPhotoFiles(view);
    return await exportPhotos(await readLibraryFrom(files), files, opts);
  } catch (err) {
    throw cancelled(opts.signal, err);
  } finally {
    view.close();
  }
}
