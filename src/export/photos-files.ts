/**
 * Where a photo library's files are read from: the phone's media partition (over AFC, built in
 * app/) or a backup (here, through backup/, decrypting as needed). Paths are relative to the media
 * partition — "PhotoData/Photos.sqlite", "DCIM/100APPLE/IMG_0001.HEIC" — which a backup keeps
 * under CameraRollDomain as "Media/<path>". Paths named by the library are untrusted: one with a
 * "..", "." or empty segment, a NUL or a leading "/" is never looked up.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { BackupBrowser, BackupEntry } from '../backup/browse.js';
import { blobPresent } from '../backup/browse.js';
import { createPrivateTempDir } from '../backup/temp.js';
import { IbackupError } from '../errors.js';
import { openPhotoLibrary, type PhotoLibrary } from './photos-library.js';

export interface PhotoFiles {
  /** Where the files come from, for messages ("the iPhone", "the backup"). */
  readonly where: 'device' | 'backup';
  /** Size of a regular file, or null when it is not there. */
  size(path: string): Promise<number | null>;
  /** A whole file of at most `max` bytes, or null when it is not there. */
  readSmall(path: string, max: number): Promise<Uint8Array | null>;
  /** The file's bytes in order. */
  chunks(path: string, signal?: AbortSignal): AsyncIterable<Uint8Array>;
}

export const PHOTOS_DB_PATH = 'PhotoData/Photos.sqlite';
/** Largest Photos.sqlite (or -wal) copied: big libraries reach a few hundred MB. */
const MAX_DB_BYTES = 1024 * 1024 * 1024;

/** Whether a library path may be looked up (see the module comment). */
export function safeLibraryPath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\u0000') || p.includes('\\')) return false;
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/**
 * Reads Photos.sqlite and its -wal from `files` (EXPORT_SOURCE_MISSING when there is none). Both
 * are streamed into a private temporary folder and opened there: the library grows with the
 * photos, and is never held in memory whole.
 */
export async function readLibraryFrom(files: PhotoFiles, tempParent?: string): Promise<PhotoLibrary> {
  const temp = createPrivateTempDir(tempParent, 'ibackup-photos-');
  try {
    const file = path.join(temp.path, 'Photos.sqlite');
    if (!(await copyOut(files, PHOTOS_DB_PATH, file)))
      throw new IbackupError('EXPORT_SOURCE_MISSING', {
        message: `${files.where === 'device' ? 'The iPhone' : 'This backup'} has no photo library (PhotoData/Photos.sqlite).`,
        remedy:
          files.where === 'device'
            ? 'Open the Photos app on the iPhone once, then try again.'
            : 'Back up the iPhone again, or choose another backup.',
      });
    await copyOut(files, `${PHOTOS_DB_PATH}-wal`, `${file}-wal`);
    return openPhotoLibrary(file);
  } finally {
    temp.remove();
  }
}

/** Streams the file at `p` into a new file `to` (mode 0600); false when `files` has no such file. */
async function copyOut(files: PhotoFiles, p: string, to: string): Promise<boolean> {
  if ((await files.size(p)) === null) return false;
  const out = await open(to, 'wx', 0o600);
  try {
    let total = 0;
    for await (const chunk of files.chunks(p)) {
      total += chunk.length;
      if (total > MAX_DB_BYTES) throw tooLarge(files.where, p);
      await out.write(chunk);
    }
  } finally {
    await out.close();
  }
  return true;
}

/** A library file over its cap (a phone or a backup that says it is larger than it can be). */
function tooLarge(where: PhotoFiles['where'], p: string): IbackupError {
  return where === 'device'
    ? new IbackupError('PROTOCOL_DECODE', { message: `/${p} on the iPhone is larger than expected.` })
    : new IbackupError('BACKUP_CORRUPT', { message: `${p} in the backup is larger than expected.` });
}

/** The camera roll's files of an open backup (plain or unlocked), each looked up when first asked for. */
export function backupPhotoFiles(view: Pick<BackupBrowser, 'entry' | 'chunks'>): PhotoFiles {
  const found = new Map<string, BackupEntry | undefined>();
  const entry = (p: string): BackupEntry | undefined => {
    if (!safeLibraryPath(p)) return undefined;
    if (!found.has(p)) {
      const e = view.entry('CameraRollDomain', `Media/${p}`);
      found.set(p, e !== undefined && e.type === 'file' && blobPresent(e) ? e : undefined);
    }
    return found.get(p);
  };
  return {
    where: 'backup',
    size: (p) => Promise.resolve(entry(p)?.size ?? null),
    async readSmall(p, max) {
      const e = entry(p);
      if (e === undefined) return null;
      const parts: Uint8Array[] = [];
      let total = 0;
      for await (const chunk of view.chunks(e)) {
        total += chunk.length;
        if (total > max) throw tooLarge('backup', p);
        parts.push(chunk);
      }
      return Buffer.concat(parts);
    },
    async *chunks(p, signal) {
      const e = entry(p);
      if (e === undefined) throw new IbackupError('EXPORT_SOURCE_MISSING', { message: `${p} is not in the backup.` });
      for await (const chunk of view.chunks(e)) {
        signal?.throwIfAborted();
        yield chunk;
      }
    },
  };
}
