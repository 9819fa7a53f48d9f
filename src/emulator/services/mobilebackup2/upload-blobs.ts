/**
 * The upload step of a Backup run (backup-script.ts step 6): blobs into the host's Snapshot/ in
 * batches, Manifest.db rows made while the host is busy, and the device's record of what the host
 * acknowledged. One object per run and one upload item per file (no closure made per file).
 */
import type { DeviceEntry } from '../../content/model.js';
import type { BackupCrypto, BackupRun } from './backup-script.js';
import type { UploadItem } from './host-files.js';
import type { ManifestDbBuilder } from './manifest-writer.js';
import type { PlannedUpload, Reused } from './resume.js';
import { stagedFileOf, type StagedFile } from './staged-record.js';
import { bytesBeforeFailure, firstBytes } from './unreadable.js';
import { uploadOrder } from './upload-order.js';

/** A file the run sends (or leaves staged). */
export type Upload = PlannedUpload & { prepare?: ReturnType<BackupCrypto['forFile']> };

/** Files per upload, move or remove request. */
export const BATCH = 1024;
/** Bytes an upload batch may hold before it is sent. */
const BATCH_BYTES = 64 * 1024 * 1024;
/**
 * The first batch's bound, doubled batch after batch up to BATCH_BYTES: the host acknowledges a
 * run's first files early, so a run cut soon after it began still leaves staged blobs the device
 * knows about (resume.ts); a big run soon sends its batches at full size.
 */
const FIRST_BATCH_BYTES = 1024 * 1024;

/** Rows made and inserted per slice of Manifest.db work done while the device waits for the host. */
const MANIFEST_SLICE = 256;

/** Whether the device cannot read a file to its end this run. */
export function isUnreadable(source: BackupRun['source'], e: DeviceEntry): boolean {
  return source.unreadable?.(e) !== undefined;
}

/** Where a file's blob is staged: `<udid>/Snapshot/xx/<fileId>`. */
export function snapshotPath(udid: string, fileId: string): string {
  return `${udid}/Snapshot/${fileId.slice(0, 2)}/${fileId}`;
}

/** Sends a run's blobs and counts what went out. */
export class BlobUploader {
  uploadedFiles = 0;
  uploadedBytes = 0;
  /** Bytes of the uploads gone through so far (sent or left staged), for progress. */
  private done = 0;
  private batches = 0;
  private batch: Upload[] = [];
  private batchBytes = 0;

  constructor(
    private readonly run: BackupRun,
    private readonly manifest: ManifestDbBuilder,
    /** Bytes of every planned upload. */
    private readonly totalBytes: number,
    /** UUID of the run's Status.plist (names the run in the device's record). */
    private readonly runUuid: string,
  ) {}

  /** Sends every upload the host does not already hold staged, in upload order. */
  async sendAll(uploads: readonly Upload[], reused: Reused): Promise<void> {
    this.run.files.whileWaiting = () => this.manifest.work(MANIFEST_SLICE);
    for (const u of uploadOrder(uploads, BATCH_BYTES)) {
      this.done += u.size;
      if (reused.has(u.fileId)) {
        const digest = reused.get(u.fileId)?.digest;
        this.encryptedRow(u, digest === undefined ? undefined : Buffer.from(digest, 'hex'));
        continue;
      }
      this.batch.push(u);
      this.batchBytes += u.size;
      if (this.batch.length >= BATCH || this.batchBytes >= Math.min(BATCH_BYTES, FIRST_BATCH_BYTES * 2 ** this.batches))
        await this.flush();
    }
    await this.flush();
    this.run.files.whileWaiting = undefined;
  }

  private async flush(): Promise<void> {
    const { batch, run } = this;
    if (batch.length === 0) return;
    run.files.progress = this.totalBytes === 0 ? 50 : Math.min(90, (this.done / this.totalBytes) * 90);
    await run.files.uploadFiles(
      batch.map((u) => this.item(u)),
      this.batchBytes,
    );
    this.batches++;
    await this.recordSent(batch);
    this.uploadedFiles += batch.length;
    this.uploadedBytes += this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    await run.checkpoint('uploading');
  }

  /**
   * The host acknowledged the batch: the device records what it staged (a file it could not read
   * to its end is sent again next time).
   */
  private async recordSent(batch: readonly Upload[]): Promise<void> {
    const sent: StagedFile[] = [];
    for (const u of batch) {
      const digest = u.prepare?.digest?.();
      this.encryptedRow(u, digest);
      if (!isUnreadable(this.run.source, u.entry))
        sent.push(stagedFileOf(u.fileId, u.entry, u.size, u.prepare?.encryptionKey, digest));
    }
    await this.run.source.stagedRecord?.add(this.runUuid, sent);
  }

  /** An encrypted file's row holds the digest of its blob: made once the blob was sent. */
  private encryptedRow(u: Upload, digest: Uint8Array | undefined): void {
    if (u.prepare)
      this.manifest.add({
        entry: u.entry,
        extra: { encryptionKey: u.prepare.encryptionKey, ...(digest ? { digest } : {}) },
        fileId: u.fileId,
      });
  }

  private item(u: Upload): UploadItem {
    const { source, udid } = this.run;
    return new BlobUpload(
      source,
      u.entry,
      snapshotPath(udid, u.fileId),
      u.size,
      u.prepare,
      source.unreadable?.(u.entry),
    );
  }
}

/** A file's blob to upload (a class: no closure made per file). */
class BlobUpload implements UploadItem {
  readonly devicePath: string;

  constructor(
    private readonly source: BackupRun['source'],
    private readonly entry: DeviceEntry,
    readonly backupPath: string,
    readonly size: number,
    private readonly prepare: ReturnType<BackupCrypto['forFile']> | undefined,
    /** The device cannot read the file to its end: what it read, then this error. */
    readonly failure: string | undefined,
  ) {
    this.devicePath = `/var/mobile/${entry.domain}/${entry.relativePath}`;
  }

  chunks(): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
    const plain = this.source.chunks(this.entry);
    const blob = this.prepare ? this.prepare.chunks(plain) : plain;
    return this.failure === undefined ? blob : firstBytes(blob, bytesBeforeFailure(this.size));
  }
}
