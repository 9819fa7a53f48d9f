/**
 * The step after Back Up Now that says what the new backup holds of the phone's photo library
 * (app/photos-record.ts). It never fails a backup: when the library cannot be read, the result
 * says so (photos: null) and a warning tells why.
 */
import type { PhotoCountsRecord } from '../backup/photo-counts.js';
import { isIbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import { recordBackupPhotos, type BackupMade } from './photos-record.js';

export async function withPhotoCounts<T extends BackupMade>(
  device: HostDevice,
  result: T,
  opts: { root: string; onWarning?: (message: string) => void },
): Promise<T & { photos: PhotoCountsRecord | null }> {
  try {
    const made = { udid: result.udid, path: result.path, date: result.date, encrypted: result.encrypted };
    return { ...result, photos: await recordBackupPhotos(device, made, opts.root) };
  } catch (err) {
    const why = isIbackupError(err) || err instanceof Error ? err.message : String(err);
    opts.onWarning?.(`The backup is complete, but its photos could not be counted: ${why}`);
    return { ...result, photos: null };
  }
}
