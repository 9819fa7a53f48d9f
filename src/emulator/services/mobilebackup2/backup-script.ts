/**
 * What the device does for a Backup request, in the order a phone does it (protocol.md §10.1
 * step 12): look at what the computer holds (Status.plist, Manifest), decide full or incremental,
 * check free space, stage new and changed files in Snapshot/, move them into place, remove what
 * was deleted, and mark the backup finished. An interrupted run is resumed from Snapshot/ only
 * where the device's own record says the staged blob is still right (resume.ts).
 */
import type { PlistDict } from '../../../protocol/plist/index.js';
import type { DeviceEntry } from '../../content/model.js';
import { hostPlistDict, type HostFiles, type UploadItem } from './host-files.js';
import {
  ManifestDbBuilder,
  fileIdOf,
  manifestPlist,
  newStatus,
  readManifestDb,
  statusPlist,
  type PreviousRow,
  type SnapshotState,
  type StatusInfo,
} from './manifest-writer.js';
import { planResume, type PlannedUpload, type Reused } from './resume.js';
import { stagedFileOf, type StagedFile, type StagedRecordStore } from './staged-record.js';
import { bytesBeforeFailure, firstBytes } from './unreadable.js';
import { uploadOrder } from './upload-order.js';
import { decodeMBFileSafe, sameFile, strayBlobs, validStatusVersion } from './host-backup.js';

/** What the backup needs from the device. */
export interface BackupSource {
  /** Every entry, sorted by domain then path. */
  entries(): Iterable<DeviceEntry>;
  chunks(entry: DeviceEntry): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Why the device cannot read a file to its end this run (iOS 17+: unreadable.ts); undefined when it can. */
  unreadable?(entry: DeviceEntry): string | undefined;
  /** The device's record of what an unfinished run staged (its state folder). */
  stagedRecord?: StagedRecordStore;
  /** The fault `reuse-stale-snapshot` is set: keep any staged blob of the expected size (consumes the fault). */
  reuseStaleSnapshot?(): boolean;
}

/** Encryption of one backup run (absent when the backup is not encrypted). */
export interface BackupCrypto {
  keybag: Uint8Array;
  /** Per-file: the EncryptionKey field and a transform of the plaintext chunks. */
  forFile(entry: DeviceEntry): {
    encryptionKey: Uint8Array;
    size: number;
    chunks: (src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    /** SHA-1 of the blob once `chunks` was read to the end (the MBFile Digest), if one is kept. */
    digest?: () => Uint8Array | undefined;
  };
  /** Encrypts Manifest.db; returns bytes and the ManifestKey. */
  manifest(plain: Uint8Array): { bytes: Uint8Array; manifestKey: Uint8Array };
  /** Decrypts the host's Manifest.db of an earlier encrypted backup (null when it cannot). */
  readPreviousManifest(bytes: Uint8Array, manifestPlist: PlistDict): Uint8Array | null;
}

export interface BackupRun {
  udid: string;
  files: HostFiles;
  source: BackupSource;
  forceFull: boolean;
  now: () => Date;
  lockdown: PlistDict;
  applications: PlistDict;
  wasPasscodeSet: boolean;
  /** A plain keybag for unencrypted backups. */
  plainKeybag: Uint8Array;
  crypto?: BackupCrypto;
  /** Throws to stop the run (cancel, faults). */
  checkpoint: (phase: string) => Promise<void>;
}

export interface BackupOutcome {
  code: number;
  description: string;
  full: boolean;
  uploadedFiles: number;
  uploadedBytes: number;
}

/** A file the run sends (or leaves staged). */
type Upload = PlannedUpload & { prepare?: ReturnType<BackupCrypto['forFile']> };

const BATCH = 1024;
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

export async function runBackup(run: BackupRun): Promise<BackupOutcome> {
  const manifest = new ManifestDbBuilder();
  try {
    return await backupWith(run, manifest);
  } finally {
    manifest.close();
    run.files.whileWaiting = undefined;
  }
}

async function backupWith(run: BackupRun, manifest: ManifestDbBuilder): Promise<BackupOutcome> {
  const { udid, files } = run;
  const p = (rel: string): string => `${udid}/${rel}`;
  files.progress = 0;

  // 1. What does the computer have?
  const got = await files.downloadFiles([p('Status.plist')]);
  const oldStatus = hostPlistDict(got.get(p('Status.plist')));
  let previous = new Map<string, PreviousRow>();
  let full = run.forceFull || !oldStatus || !validStatusVersion(oldStatus);
  if (!full) {
    const m = await files.downloadFiles([p('Manifest.plist'), p('Manifest.db')]);
    const mp = hostPlistDict(m.get(p('Manifest.plist')));
    const db = m.get(p('Manifest.db'));
    const wasEncrypted = mp?.IsEncrypted === true;
    if (!mp || !db || wasEncrypted !== (run.crypto !== undefined)) full = true;
    else {
      const plain = wasEncrypted ? (run.crypto?.readPreviousManifest(db, mp) ?? null) : db;
      try {
        if (plain) previous = readManifestDb(plain);
        else full = true;
      } catch {
        full = true; // unreadable manifest: start over, like a device
      }
    }
  }
  await run.checkpoint('planning');

  // 2. Plan: rows for every entry (made later, a slice at a time), uploads for new or changed files.
  const status = newStatus(full, run.now());
  const uploads: Upload[] = [];
  const present = new Set<string>();
  // A full run over an earlier or interrupted backup cannot trust the host's Manifest.db to name
  // every blob it holds: the blobs of files the device no longer has are found by listing.
  const sweep = full && oldStatus !== undefined;
  const fileIds = new Set<string>();
  let totalBytes = 0;
  for (const e of run.source.entries()) {
    if (e.encryptedOnly && !run.crypto) continue;
    const fileId = fileIdOf(e.domain, e.relativePath);
    if (previous.size > 0) present.add(fileId);
    if (sweep && e.kind === 'file') fileIds.add(fileId);
    const old = previous.get(fileId);
    let extra: { encryptionKey?: Uint8Array; digest?: Uint8Array } | undefined;
    if (e.kind === 'file') {
      const unchanged = old !== undefined && sameFile(old, e);
      if (unchanged && old) {
        const f = decodeMBFileSafe(old.file);
        if (f?.encryptionKey) extra = { encryptionKey: f.encryptionKey, ...(f.digest ? { digest: f.digest } : {}) };
      } else {
        const prepare = run.crypto?.forFile(e);
        const size = prepare ? prepare.size : e.size;
        uploads.push(prepare ? { entry: e, fileId, size, prepare } : { entry: e, fileId, size });
        totalBytes += size;
        // An encrypted file's row holds the digest of its blob: made once the blob was sent.
        if (prepare) continue;
      }
    }
    manifest.add(extra ? { entry: e, extra, fileId } : { entry: e, fileId });
  }
  // Unencrypted, every row is known now: the indexes can be built while the files go out.
  if (!run.crypto) manifest.seal();
  const removed = [...previous.entries()].filter(([id, r]) => !present.has(id) && r.flags === 1).map(([id]) => id);

  // 3. Resume: the blobs an interrupted run staged that are still right (resume.ts).
  const unreadable = (e: DeviceEntry): boolean => run.source.unreadable?.(e) !== undefined;
  const record = run.source.stagedRecord;
  const reused = await planResume({
    files,
    udid,
    uploads,
    hostRunUuid: typeof oldStatus?.UUID === 'string' ? oldStatus.UUID : undefined,
    record: (await record?.load()) ?? null,
    bySizeOnly: run.source.reuseStaleSnapshot?.() === true,
    unreadable,
  });

  // 4. Room on the computer?
  const needed = uploads.reduce((n, u) => n + (reused.has(u.fileId) ? 0 : u.size), 0);
  const free = await files.freeDiskSpace();
  if (free < needed) {
    return {
      code: 105,
      description: `Insufficient free disk space on drive to back up (MBErrorDomain/105): ${needed} bytes needed, ${free} available`,
      full,
      uploadedFiles: 0,
      uploadedBytes: 0,
    };
  }
  await run.checkpoint('directories');

  // 5. Folders, then Status "uploading".
  await files.createDirectory(udid);
  await files.createDirectory(p('Snapshot'));
  const shards = new Set(uploads.map((u) => u.fileId.slice(0, 2)));
  for (const s of [...shards].sort()) {
    await files.createDirectory(p(s));
    await files.createDirectory(p(`Snapshot/${s}`));
  }
  // The record now names this run (its Status UUID), keeping the blobs it leaves in place.
  await record?.begin(status.uuid, keptRecords(reused));
  await uploadStatus(files, udid, status, 'uploading');
  await run.checkpoint('uploading');

  // 6. Blobs into Snapshot/, in batches. Manifest.db rows are made while the host is busy.
  let done = 0;
  let uploadedFiles = 0;
  let batches = 0;
  let uploadedBytes = 0;
  let batch: Upload[] = [];
  let batchBytes = 0;
  const encryptedRow = (u: Upload, digest: Uint8Array | undefined): void => {
    if (u.prepare)
      manifest.add({
        entry: u.entry,
        extra: { encryptionKey: u.prepare.encryptionKey, ...(digest ? { digest } : {}) },
        fileId: u.fileId,
      });
  };
  const item = (u: Upload): UploadItem =>
    new BlobUpload(
      run.source,
      u.entry,
      p(`Snapshot/${u.fileId.slice(0, 2)}/${u.fileId}`),
      u.size,
      u.prepare,
      run.source.unreadable?.(u.entry),
    );
  files.whileWaiting = () => manifest.work(MANIFEST_SLICE);
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    files.progress = totalBytes === 0 ? 50 : Math.min(90, (done / totalBytes) * 90);
    await files.uploadFiles(batch.map(item), batchBytes);
    batches++;
    // The host acknowledged the batch: the device records what it staged (a file it could not
    // read to its end is sent again next time).
    const sent: StagedFile[] = [];
    for (const u of batch) {
      const digest = u.prepare?.digest?.();
      encryptedRow(u, digest);
      if (!unreadable(u.entry)) sent.push(stagedFileOf(u.fileId, u.entry, u.size, u.prepare?.encryptionKey, digest));
    }
    await record?.add(status.uuid, sent);
    uploadedFiles += batch.length;
    uploadedBytes += batchBytes;
    batch = [];
    batchBytes = 0;
    await run.checkpoint('uploading');
  };
  for (const u of uploadOrder(uploads, BATCH_BYTES)) {
    done += u.size;
    if (reused.has(u.fileId)) {
      const digest = reused.get(u.fileId)?.digest;
      encryptedRow(u, digest === undefined ? undefined : Buffer.from(digest, 'hex'));
      continue;
    }
    batch.push(u);
    batchBytes += u.size;
    if (batch.length >= BATCH || batchBytes >= Math.min(BATCH_BYTES, FIRST_BATCH_BYTES * 2 ** batches)) await flush();
  }
  await flush();
  files.whileWaiting = undefined;

  // 7. The manifests (with the Digest of each blob encrypted in this run).
  const dbPlain = manifest.finish();
  const db = run.crypto?.manifest(Buffer.concat(dbPlain));
  const dbChunks = db ? [db.bytes] : dbPlain;
  const mplist = manifestPlist({
    date: status.date,
    encrypted: run.crypto !== undefined,
    wasPasscodeSet: run.wasPasscodeSet,
    keybag: run.crypto ? run.crypto.keybag : run.plainKeybag,
    ...(db ? { manifestKey: db.manifestKey } : {}),
    lockdown: run.lockdown,
    applications: run.applications,
    systemDomainsVersion: '24.0',
  });
  files.progress = 92;
  await files.uploadFiles(
    [bytesItem(p('Snapshot/Manifest.plist'), mplist), bytesItem(p('Snapshot/Manifest.db'), ...dbChunks)],
    mplist.length + chunksLength(dbChunks),
  );
  await run.checkpoint('moving');

  // 8. Move into place.
  await uploadStatus(files, udid, status, 'moving');
  function* moveBatches(): Generator<Array<{ from: string; to: string }>> {
    for (let i = 0; i < uploads.length; i += BATCH) {
      yield uploads.slice(i, i + BATCH).map((u) => ({
        from: p(`Snapshot/${u.fileId.slice(0, 2)}/${u.fileId}`),
        to: p(`${u.fileId.slice(0, 2)}/${u.fileId}`),
      }));
    }
  }
  await files.moveBatches(moveBatches(), () => run.checkpoint('moving'));
  await files.moveItems([
    { from: p('Snapshot/Manifest.plist'), to: p('Manifest.plist') },
    { from: p('Snapshot/Manifest.db'), to: p('Manifest.db') },
  ]);
  files.progress = 96;

  // 9. Remove what the phone no longer has, and the staging folder.
  await uploadStatus(files, udid, status, 'removing');
  await run.checkpoint('removing');
  const gone = removed.map((id) => p(`${id.slice(0, 2)}/${id}`));
  if (sweep) gone.push(...(await strayBlobs(files, udid, fileIds)));
  for (let i = 0; i < gone.length; i += BATCH) await files.removeItems(gone.slice(i, i + BATCH));
  await files.removeItems([p('Snapshot')]);

  // 10. Done.
  files.progress = 100;
  await uploadStatus(files, udid, status, 'finished');
  await record?.clear();
  await run.checkpoint('finished');
  return { code: 0, description: '', full, uploadedFiles, uploadedBytes };
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

function chunksLength(chunks: readonly Uint8Array[]): number {
  return chunks.reduce((n, c) => n + c.length, 0);
}

function bytesItem(backupPath: string, ...chunks: Uint8Array[]): UploadItem {
  return {
    devicePath: `/var/mobile/Library/Backup/${backupPath.split('/').pop() ?? ''}`,
    backupPath,
    size: chunksLength(chunks),
    chunks: () => chunks,
  };
}

async function uploadStatus(files: HostFiles, udid: string, s: StatusInfo, state: SnapshotState): Promise<void> {
  const bytes = statusPlist(s, state);
  await files.uploadFiles([bytesItem(`${udid}/Status.plist`, bytes)], bytes.length);
}

/** The records of the blobs this run leaves in place (those kept by size alone have none). */
function keptRecords(reused: Reused): StagedFile[] {
  return [...reused.values()].filter((r): r is StagedFile => r !== undefined);
}
