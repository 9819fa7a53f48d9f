/**
 * Resuming an interrupted backup run: which blobs in the computer's `Snapshot/` the device leaves
 * in place instead of sending again.
 *
 * What is known: neither libimobiledevice nor pymobiledevice3 has any code about reusing
 * `Snapshot/`; real phones leave it behind after a failed run and a later run asks the host to
 * remove it (libimobiledevice issues 58, 630, 1544); and each run mounts a fresh APFS snapshot
 * ("com.apple.mobilebackup-iTunesBackup", the BackupAgent2 log in libimobiledevice issue 1361),
 * so the phone reads its files anew every run. Whether a phone reuses staged blobs at all is not
 * documented. The model here is ours and conservative: the device reuses only what its own record
 * (staged-record.ts) says it staged in this very folder — the record names the run by the UUID of
 * the Status.plist it gave the host — for the same version of the file, encrypted with the same
 * key, and only while the host still holds a blob of that size. Anything else is sent again, and
 * the new upload replaces the old blob, so no stale blob is ever moved into place.
 *
 * The fault `reuse-stale-snapshot` brings back the unsafe rule (any blob of the expected size is
 * kept), so a computer's defences against such a device can be tested.
 */
import type { DeviceEntry } from '../../content/model.js';
import type { HostFiles } from './host-files.js';
import { matchesStaged, stagedFileOf, type StagedFile, type StagedRun } from './staged-record.js';

/** An upload the run planned. */
export interface PlannedUpload {
  entry: DeviceEntry;
  fileId: string;
  /** Bytes of the blob (padded when encrypted). */
  size: number;
  prepare?: { encryptionKey: Uint8Array };
}

export interface ResumeInput {
  files: HostFiles;
  udid: string;
  uploads: readonly PlannedUpload[];
  /** UUID of the Status.plist the host holds now. */
  hostRunUuid: string | undefined;
  /** The device's record of an unfinished run (null when none). */
  record: StagedRun | null;
  /** The fault `reuse-stale-snapshot`: keep any blob of the expected size. */
  bySizeOnly: boolean;
  /** Files the device cannot read to the end this run: always sent again. */
  unreadable: (e: DeviceEntry) => boolean;
}

/** Blobs left in place: fileId → what the device recorded of it (undefined when kept by size alone). */
export type Reused = Map<string, StagedFile | undefined>;

/** What this run's upload of a file would stage. */
export function stagedNow(u: PlannedUpload): StagedFile {
  return stagedFileOf(u.fileId, u.entry, u.size, u.prepare?.encryptionKey);
}

/** The staged blobs this run keeps. */
export async function planResume(r: ResumeInput): Promise<Reused> {
  const reused: Reused = new Map();
  const recorded = r.record !== null && r.record.runUuid === r.hostRunUuid ? r.record.files : undefined;
  if (!r.bySizeOnly && (recorded === undefined || recorded.size === 0)) return reused; // nothing to look for
  const held = await listSnapshot(r.files, r.udid);
  for (const u of r.uploads) {
    const hostSize = held.get(u.fileId);
    if (hostSize !== u.size) continue;
    if (r.bySizeOnly) {
      reused.set(u.fileId, undefined);
      continue;
    }
    const rec = recorded?.get(u.fileId);
    if (rec !== undefined && !r.unreadable(u.entry) && matchesStaged(rec, stagedNow(u))) reused.set(u.fileId, rec);
  }
  return reused;
}

/** Blobs in the host's `<udid>/Snapshot/xx/` folders: fileId → size. */
async function listSnapshot(files: HostFiles, udid: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const top = await files.contentsOfDirectory(`${udid}/Snapshot`);
  for (const [name, entry] of top) {
    if (entry.type !== 'directory' || !/^[0-9a-f]{2}$/.test(name)) continue;
    for (const [id, f] of await files.contentsOfDirectory(`${udid}/Snapshot/${name}`)) {
      if (f.type === 'file' && /^[0-9a-f]{40}$/.test(id)) out.set(id, f.size);
    }
  }
  return out;
}
