/**
 * What the device does for a Backup request, in the order a phone does it (protocol.md §10.1
 * step 12): look at what the computer holds (Status.plist, Manifest), decide full or incremental,
 * check free space, stage new and changed files in Snapshot/, move them into place, remove what
 * was deleted, and mark the backup finished. An interrupted run is resumed from Snapshot/ only
 * where the device's own record says the staged blob is still right (resume.ts).
 */
import type { PlistDict } from '../../../protocol/plist/index.js';
import type { DeviceEntry } from '../../content/model.js';
import { decodeMBFileSafe, sameFile, strayBlobs, validStatusVersion } from './host-backup.js';
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
import { planResume, type Reused } from './resume.js';
import type { StagedFile, StagedRecordStore } from './staged-record.js';
import { BATCH, BlobUploader, isUnreadable, snapshotPath, type Upload } from './upload-blobs.js';

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

export async function runBackup(run: BackupRun): Promise<BackupOutcome> {
  const manifest = new ManifestDbBuilder();
  try {
    return await backupWith(run, manifest);
  } finally {
    manifest.close();
    run.files.whileWaiting = undefined;
  }
}

/** The steps of a Backup run, in the phone's order. */
async function backupWith(run: BackupRun, manifest: ManifestDbBuilder): Promise<BackupOutcome> {
  run.files.progress = 0;
  const held = await whatTheHostHolds(run);
  await run.checkpoint('planning');
  const plan = planRun(run, manifest, held);
  const reused = await resumable(run, plan, held);
  const noRoom = await roomOnHost(run, plan, reused);
  if (noRoom) return noRoom;
  await run.checkpoint('directories');
  await createFolders(run, plan, reused);
  const uploader = new BlobUploader(run, manifest, plan.totalBytes, plan.status.uuid);
  await uploader.sendAll(plan.uploads, reused);
  await uploadManifests(run, manifest, plan.status);
  await run.checkpoint('moving');
  await moveIntoPlace(run, plan);
  await removeGone(run, plan);
  await finish(run, plan);
  const { uploadedFiles, uploadedBytes } = uploader;
  return { code: 0, description: '', full: plan.full, uploadedFiles, uploadedBytes };
}

/** What the computer holds of an earlier backup (step 1). */
interface HostHolds {
  /** The host's Status.plist, when it has one. */
  oldStatus: PlistDict | undefined;
  /** Rows of the host's Manifest.db by fileId (empty for a full run). */
  previous: Map<string, PreviousRow>;
  full: boolean;
}

/** 1. What does the computer have? */
async function whatTheHostHolds(run: BackupRun): Promise<HostHolds> {
  const status = `${run.udid}/Status.plist`;
  const got = await run.files.downloadFiles([status]);
  const oldStatus = hostPlistDict(got.get(status));
  const previous = run.forceFull || !oldStatus || !validStatusVersion(oldStatus) ? undefined : await previousRows(run);
  return { oldStatus, previous: previous ?? new Map<string, PreviousRow>(), full: previous === undefined };
}

/** The rows of the host's Manifest.db; undefined when the run must be full. */
async function previousRows(run: BackupRun): Promise<Map<string, PreviousRow> | undefined> {
  const p = (rel: string): string => `${run.udid}/${rel}`;
  const m = await run.files.downloadFiles([p('Manifest.plist'), p('Manifest.db')]);
  const mp = hostPlistDict(m.get(p('Manifest.plist')));
  const db = m.get(p('Manifest.db'));
  const wasEncrypted = mp?.IsEncrypted === true;
  if (!mp || !db || wasEncrypted !== (run.crypto !== undefined)) return undefined;
  const plain = wasEncrypted ? (run.crypto?.readPreviousManifest(db, mp) ?? null) : db;
  if (!plain) return undefined;
  try {
    return readManifestDb(plain);
  } catch {
    return undefined; // unreadable manifest: start over, like a device
  }
}

/** What the run sends and removes (step 2). */
interface RunPlan {
  full: boolean;
  status: StatusInfo;
  uploads: Upload[];
  /** Bytes of every upload. */
  totalBytes: number;
  /** fileIds of files the host holds that the phone no longer has. */
  removed: string[];
  /**
   * A full run over an earlier or interrupted backup cannot trust the host's Manifest.db to name
   * every blob it holds: the blobs of files the device no longer has are found by listing.
   */
  sweep: boolean;
  /** fileIds of the device's files (kept when sweeping). */
  fileIds: Set<string>;
}

/** 2. Plan: rows for every entry (made later, a slice at a time), uploads for new or changed files. */
function planRun(run: BackupRun, manifest: ManifestDbBuilder, held: HostHolds): RunPlan {
  const { previous, full } = held;
  const plan: RunPlan = {
    full,
    status: newStatus(full, run.now()),
    uploads: [],
    totalBytes: 0,
    removed: [],
    sweep: full && held.oldStatus !== undefined,
    fileIds: new Set<string>(),
  };
  const present = new Set<string>();
  for (const e of run.source.entries()) {
    if (e.encryptedOnly && !run.crypto) continue;
    const fileId = fileIdOf(e.domain, e.relativePath);
    if (previous.size > 0) present.add(fileId);
    if (plan.sweep && e.kind === 'file') plan.fileIds.add(fileId);
    const old = previous.get(fileId);
    let extra: { encryptionKey?: Uint8Array; digest?: Uint8Array } | undefined;
    if (e.kind === 'file') {
      if (old !== undefined && sameFile(old, e)) extra = keptFileExtra(old);
      // An encrypted file's row holds the digest of its blob: made once the blob was sent.
      else if (planUpload(run, plan, e, fileId)) continue;
    }
    manifest.add(extra ? { entry: e, extra, fileId } : { entry: e, fileId });
  }
  // Unencrypted, every row is known now: the indexes can be built while the files go out.
  if (!run.crypto) manifest.seal();
  plan.removed = [...previous.entries()].filter(([id, r]) => !present.has(id) && r.flags === 1).map(([id]) => id);
  return plan;
}

/** The encryption fields an unchanged file's row keeps from the host's Manifest.db. */
function keptFileExtra(old: PreviousRow): { encryptionKey: Uint8Array; digest?: Uint8Array } | undefined {
  const f = decodeMBFileSafe(old.file);
  return f?.encryptionKey ? { encryptionKey: f.encryptionKey, ...(f.digest ? { digest: f.digest } : {}) } : undefined;
}

/** Adds a new or changed file to the uploads; true when its row waits for the upload (encrypted). */
function planUpload(run: BackupRun, plan: RunPlan, e: DeviceEntry, fileId: string): boolean {
  const prepare = run.crypto?.forFile(e);
  const size = prepare ? prepare.size : e.size;
  plan.uploads.push(prepare ? { entry: e, fileId, size, prepare } : { entry: e, fileId, size });
  plan.totalBytes += size;
  return prepare !== undefined;
}

/** 3. Resume: the blobs an interrupted run staged that are still right (resume.ts). */
async function resumable(run: BackupRun, plan: RunPlan, held: HostHolds): Promise<Reused> {
  const { source } = run;
  return planResume({
    files: run.files,
    udid: run.udid,
    uploads: plan.uploads,
    hostRunUuid: typeof held.oldStatus?.UUID === 'string' ? held.oldStatus.UUID : undefined,
    record: (await source.stagedRecord?.load()) ?? null,
    bySizeOnly: source.reuseStaleSnapshot?.() === true,
    unreadable: (e) => isUnreadable(source, e),
  });
}

/** 4. Room on the computer? The outcome of a run that stops here, or undefined. */
async function roomOnHost(run: BackupRun, plan: RunPlan, reused: Reused): Promise<BackupOutcome | undefined> {
  const needed = plan.uploads.reduce((n, u) => n + (reused.has(u.fileId) ? 0 : u.size), 0);
  const free = await run.files.freeDiskSpace();
  if (free >= needed) return undefined;
  return {
    code: 105,
    description: `Insufficient free disk space on drive to back up (MBErrorDomain/105): ${needed} bytes needed, ${free} available`,
    full: plan.full,
    uploadedFiles: 0,
    uploadedBytes: 0,
  };
}

/** 5. Folders, then Status "uploading". */
async function createFolders(run: BackupRun, plan: RunPlan, reused: Reused): Promise<void> {
  const { files, udid } = run;
  const p = (rel: string): string => `${udid}/${rel}`;
  await files.createDirectory(udid);
  await files.createDirectory(p('Snapshot'));
  const shards = new Set(plan.uploads.map((u) => u.fileId.slice(0, 2)));
  for (const s of [...shards].sort()) {
    await files.createDirectory(p(s));
    await files.createDirectory(p(`Snapshot/${s}`));
  }
  // The record now names this run (its Status UUID), keeping the blobs it leaves in place.
  await run.source.stagedRecord?.begin(plan.status.uuid, keptRecords(reused));
  await uploadStatus(files, udid, plan.status, 'uploading');
  await run.checkpoint('uploading');
}

/** 7. The manifests (with the Digest of each blob encrypted in this run). */
async function uploadManifests(run: BackupRun, manifest: ManifestDbBuilder, status: StatusInfo): Promise<void> {
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
  run.files.progress = 92;
  await run.files.uploadFiles(
    [
      bytesItem(`${run.udid}/Snapshot/Manifest.plist`, mplist),
      bytesItem(`${run.udid}/Snapshot/Manifest.db`, ...dbChunks),
    ],
    mplist.length + chunksLength(dbChunks),
  );
}

/** 8. Move into place. */
async function moveIntoPlace(run: BackupRun, plan: RunPlan): Promise<void> {
  const { files, udid } = run;
  const p = (rel: string): string => `${udid}/${rel}`;
  await uploadStatus(files, udid, plan.status, 'moving');
  await files.moveBatches(moveBatches(udid, plan.uploads), () => run.checkpoint('moving'));
  await files.moveItems([
    { from: p('Snapshot/Manifest.plist'), to: p('Manifest.plist') },
    { from: p('Snapshot/Manifest.db'), to: p('Manifest.db') },
  ]);
  files.progress = 96;
}

function* moveBatches(udid: string, uploads: readonly Upload[]): Generator<Array<{ from: string; to: string }>> {
  for (let i = 0; i < uploads.length; i += BATCH) {
    yield uploads.slice(i, i + BATCH).map((u) => ({
      from: snapshotPath(udid, u.fileId),
      to: `${udid}/${u.fileId.slice(0, 2)}/${u.fileId}`,
    }));
  }
}

/** 9. Remove what the phone no longer has, and the staging folder. */
async function removeGone(run: BackupRun, plan: RunPlan): Promise<void> {
  const { files, udid } = run;
  await uploadStatus(files, udid, plan.status, 'removing');
  await run.checkpoint('removing');
  const gone = plan.removed.map((id) => `${udid}/${id.slice(0, 2)}/${id}`);
  if (plan.sweep) gone.push(...(await strayBlobs(files, udid, plan.fileIds)));
  for (let i = 0; i < gone.length; i += BATCH) await files.removeItems(gone.slice(i, i + BATCH));
  await files.removeItems([`${udid}/Snapshot`]);
}

/** 10. Done. */
async function finish(run: BackupRun, plan: RunPlan): Promise<void> {
  run.files.progress = 100;
  await uploadStatus(run.files, run.udid, plan.status, 'finished');
  await run.source.stagedRecord?.clear();
  await run.checkpoint('finished');
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
