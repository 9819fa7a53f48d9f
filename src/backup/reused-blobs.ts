/**
 * Blobs a run did not receive but moved into place: what an interrupted run left in `Snapshot/`
 * and the device reused. The host does not take the device's word for them: each one is checked
 * against the new Manifest.db before the run may call itself complete — its size, its Digest where
 * recorded and, in an encrypted backup, that it decrypts with the key the new manifest records.
 * No public evidence says how a real iPhone resumes; libimobiledevice issues 58, 630 and 1544 show
 * phones leaving `Snapshot/` behind after failed runs, so a resumed run is possible and is checked.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openBackup } from './open.js';
import { checkBlob } from './verify-row.js';
import type { BackupProblem } from './folder.js';
import { SNAPSHOT_DIR } from './folder.js';

const SHARD = /^[0-9a-f]{2}$/;
const FILE_ID = /^[0-9a-f]{40}$/;

/** Follows a run's uploads and moves, starting from what `Snapshot/` held before it. */
export class ReusedBlobs {
  /** Device paths (`<UDID>/Snapshot/xx/<fileID>`) left by an earlier run and not sent again yet. */
  private readonly leftover: Set<string>;
  /** File IDs moved into place from a leftover blob. */
  readonly reused = new Set<string>();

  constructor(leftover: Iterable<string>) {
    this.leftover = new Set(leftover);
  }

  get hasLeftovers(): boolean {
    return this.leftover.size > 0;
  }

  /** A file was received in this run (so it is not a leftover any more). */
  received(path: string): void {
    if (this.leftover.size > 0) this.leftover.delete(path);
  }

  /** The device moved `from` to `to`: a leftover moved into place is a reused blob. */
  moved(from: string, to: string): void {
    if (this.leftover.size === 0 || !this.leftover.delete(from)) return;
    const id = to.slice(to.lastIndexOf('/') + 1);
    if (FILE_ID.test(id)) this.reused.add(id);
  }
}

/** Device paths of the blobs in `<deviceDir>/Snapshot/xx/` (left by an interrupted run). */
export async function leftoverSnapshotBlobs(deviceDir: string, udid: string): Promise<string[]> {
  const out: string[] = [];
  const snapshot = join(deviceDir, SNAPSHOT_DIR);
  for (const shard of await readdir(snapshot).catch(() => [] as string[])) {
    if (!SHARD.test(shard)) continue;
    for (const id of await readdir(join(snapshot, shard)).catch(() => [] as string[])) {
      if (FILE_ID.test(id)) out.push(`${udid}/${SNAPSHOT_DIR}/${shard}/${id}`);
    }
  }
  return out;
}

/**
 * Checks reused blobs against the backup's new Manifest.db; returns the problems found (none: all
 * match). An encrypted backup needs its derived key, else each blob is checked by size alone.
 */
export async function checkReusedBlobs(
  dir: string,
  fileIds: Iterable<string>,
  derivedKey?: Uint8Array,
): Promise<BackupProblem[]> {
  const backup = await openBackup(dir, derivedKey === undefined ? {} : { derivedKey });
  try {
    const problems: BackupProblem[] = [];
    for (const id of fileIds) {
      const row = backup.db.getByFileID(id);
      if (row === undefined) continue; // no row names it: not part of the backup
      const r = await checkBlob(row, {
        keys: backup.keys,
        encrypted: backup.isEncrypted,
        decrypt: backup.keys !== undefined,
        checkDigests: true,
      });
      problems.push(...r.problems.filter((p) => p.severity === 'error'));
    }
    return problems;
  } finally {
    backup.close();
  }
}
