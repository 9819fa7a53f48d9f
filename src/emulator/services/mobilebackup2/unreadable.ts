/**
 * Files a phone cannot read to the end while it backs them up. From iOS 17 the FileProvider
 * database `/var/mobile/Library/Application Support/FileProvider/backup/backup_manifest.db` ends
 * its upload with an error block after some data: "Failed to fully upload … Reason: Input/output
 * error (5)" (pymobiledevice3 issue 755, iOS 17.2.1; pull request 507: an iOS 17 bug, the backup is
 * still usable). libimobiledevice's idevicebackup2.c (master fa0f791, mb2_handle_receive_files)
 * treats such an end marker (CODE_ERROR_REMOTE after CODE_FILE_DATA) as "not an error" and keeps
 * the file. The phone then moves the blob into place like any other, and its Manifest.db row
 * (the file's full size and metadata, read from the snapshot) stays. How many bytes come before
 * the error is not documented: here, the first half of the blob.
 */
import { FILEPROVIDER_BACKUP_DB } from '../../content/domains.js';
import type { DeviceEntry, EntryRef } from '../../content/model.js';

/** The read error the phone reports for such a file. */
export const UNREADABLE_REASON = 'Input/output error (5)';

/** Files the device cannot read to the end on iOS 17 and later. */
export const UNREADABLE_FROM_IOS_17: readonly EntryRef[] = [FILEPROVIDER_BACKUP_DB];

function iosMajor(productVersion: string): number {
  return Number(productVersion.split('.')[0]);
}

/** The reason the device gives for not reading the entry to its end, or undefined when it reads it whole. */
export function unreadableReason(
  productVersion: string,
  e: Pick<DeviceEntry, 'domain' | 'relativePath' | 'kind'>,
): string | undefined {
  if (e.kind !== 'file' || !(iosMajor(productVersion) >= 17)) return undefined;
  return UNREADABLE_FROM_IOS_17.some((u) => u.domain === e.domain && u.relativePath === e.relativePath)
    ? UNREADABLE_REASON
    : undefined;
}

/** Bytes of a blob of `blobSize` sent before the read error (whole 16-byte blocks, so encrypted data stays block-aligned). */
export function bytesBeforeFailure(blobSize: number): number {
  return Math.floor(blobSize / 32) * 16;
}

/** The first `limit` bytes of a stream of chunks (sync stays sync); the source is not read past them. */
export function firstBytes(
  src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  limit: number,
): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  return Symbol.iterator in src ? firstBytesSync(src, limit) : firstBytesAsync(src, limit);
}

function* firstBytesSync(src: Iterable<Uint8Array>, limit: number): Generator<Uint8Array> {
  let left = limit;
  if (left <= 0) return;
  for (const chunk of src) {
    const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
    left -= part.length;
    yield part;
    // Stop before asking for more: the source would read (and an encryptor finish) the rest.
    if (left <= 0) return;
  }
}

async function* firstBytesAsync(src: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  let left = limit;
  if (left <= 0) return;
  for await (const chunk of src) {
    const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
    left -= part.length;
    yield part;
    // Stop before asking for more: the source would read (and an encryptor finish) the rest.
    if (left <= 0) return;
  }
}
