/**
 * One backup run's hold on a device's folder `<root>/<UDID>/`: the store that serves the device's
 * file requests, the version kept of the last complete backup (Preserver) and the folder's size
 * (SizeLedger), wired so that before every change the saved size is dropped and what the change
 * would lose is kept. A run ends one of two ways: `commit` (the new backup is flushed, checked, and
 * only then counts: the kept version is completed into the history, the new backup's id recorded,
 * the size saved, and the versions the retention policy no longer keeps removed) or `abandon` (the
 * kept version becomes the last complete backup on its own). A run that dies in between leaves
 * the kept version for the next reader to complete.
 */
import { SNAPSHOT_DIR } from './folder.js';
import type { FsLayer } from './fs-layer.js';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { Preserver } from './preserve.js';
import { pruneVersions } from './prune.js';
import { freeVersionId, versionFolderIds, versionIdAt, writeCurrentRecord } from './versions.js';
import { leftoverSnapshotBlobs } from './reused-blobs.js';
import { createBackupRoot } from './roots.js';
import { SizeLedger } from './size-ledger.js';
import { removeStaleTemps } from './stale-temps.js';
import { isSnapshotFinished, readStatusPlist, unfinishedStatusBytes } from './status.js';
import { BackupStore } from './store.js';
import { readUnreadableRecord, UnreadableLog } from './unreadable-record.js';

export interface BackupRunOptions {
  /** The file system (tests inject faults and record flushes). */
  fs?: FsLayer;
  /** Copy the last complete backup when the disk cannot make hard links (the user agreed). */
  allowCopy?: boolean;
  /** The clock that names versions and ages them for the retention policy. */
  now?: () => Date;
}

/** What a completed run leaves. */
export interface CommitResult {
  /** Bytes of the device's folder. */
  sizeBytes: number;
  /** The new backup's version id. */
  id: string;
  /** The version made of the backup this run replaced. */
  versionMade?: string;
  /** The disk cannot make hard links: no history is kept (backups work as before). */
  historyOff?: boolean;
  /** Versions the retention policy removed. */
  pruned: string[];
}

export class BackupRun {
  private complete = false;
  private unreadable: UnreadableLog | undefined;

  private constructor(
    readonly root: string,
    readonly udid: string,
    /** Serves the device's file requests: the mobilebackup2 client's target. */
    readonly store: BackupStore,
    private readonly preserver: Preserver,
    private readonly sizes: SizeLedger,
    private readonly now: () => Date,
  ) {}

  /** Takes hold of `<root>/<udid>/` for a run; nothing on disk changes yet. */
  static async open(root: string, udid: string, opts: BackupRunOptions = {}): Promise<BackupRun> {
    const fs = opts.fs ? { fs: opts.fs } : {};
    // The last complete backup is kept (hard links) from the first change until this run is flushed.
    const preserver = new Preserver(root, udid, { ...fs, allowCopy: opts.allowCopy === true });
    // The folder's size, followed change by change from the last complete run's figure (if still true).
    const sizes = await SizeLedger.open(root, udid);
    const store = new BackupStore(root, udid, {
      ...fs,
      sizes,
      // Nothing comes back once there is nothing to do (see both): no promise per change then.
      beforeChange: (local, loses) => {
        const dropping = sizes.beforeChange();
        if (dropping === undefined) return preserver.beforeChange(local, loses);
        return dropping.then(() => preserver.beforeChange(local, loses));
      },
    });
    return new BackupRun(root, udid, store, preserver, sizes, opts.now ?? (() => new Date()));
  }

  get deviceDir(): string {
    return this.store.deviceDir;
  }

  /** Creates the backup root; resolves whether the device's folder holds a complete backup. */
  async prepare(): Promise<boolean> {
    await createBackupRoot(this.root);
    this.complete = await readStatusPlist(this.deviceDir).then(isSnapshotFinished, () => false);
    return this.complete;
  }

  /** The size of this device's last complete backup here, when there is one and it is known. */
  get previousBackupBytes(): number | undefined {
    return this.complete ? this.sizes.figure : undefined;
  }

  /** Free bytes where the backup is written. */
  freeSpace(): Promise<number> {
    return this.store.freeSpace();
  }

  /**
   * Removes unfinished files a killed run left in the folder. A saved size still true means no
   * run changed the folder since the last complete one: then there are none to look for.
   */
  async removeStaleTemps(): Promise<void> {
    if (!this.sizes.known) await removeStaleTemps(this.store.fs, this.deviceDir);
  }

  /**
   * The blobs an interrupted run left in `Snapshot/` (device paths), kept for the device to reuse
   * when `keep` says each can be checked after the run; otherwise removed before the request (the
   * device then sends those files again) and none returned.
   */
  async leftovers(keep: () => Promise<boolean>): Promise<string[]> {
    const found = await leftoverSnapshotBlobs(this.deviceDir, this.udid);
    if (found.length === 0 || (await keep())) return found;
    await this.store.remove(`${this.udid}/${SNAPSHOT_DIR}`);
    return [];
  }

  /** The record of the files the iPhone could not read, followed as the run goes (saved on commit). */
  async followUnreadable(): Promise<UnreadableLog> {
    this.unreadable = new UnreadableLog(this.root, this.udid, await readUnreadableRecord(this.deviceDir));
    return this.unreadable;
  }

  /** Writes a whole file of the folder through the store (temp file, then rename). */
  async writeFile(devicePath: string, bytes: Uint8Array): Promise<void> {
    const file = await this.store.createFile(devicePath);
    try {
      await file.write(bytes);
      await file.commit();
    } catch (err) {
      await file.abort();
      throw err;
    }
  }

  /** Sets the folder's Status.plist back to unfinished (temp file, then rename; flushed). */
  async markUnfinished(): Promise<void> {
    const status = await readStatusPlist(this.deviceDir);
    await this.writeFile(`${this.udid}/Status.plist`, unfinishedStatusBytes(status));
    await this.store.flush();
  }

  /**
   * The device said the backup finished: everything written is flushed and the record of
   * unreadable files saved, then `checks` run (reused blobs, --verify). When they throw, the
   * folder is marked unfinished, so the kept version stays the last complete backup. Otherwise the
   * new backup counts: the version of the backup it replaced is completed, the new one's id
   * recorded, its size saved, and the retention policy applied.
   */
  async commit(checks: () => Promise<void> = async () => undefined, full = false): Promise<CommitResult> {
    await this.store.flush();
    // Before the checks: verify must know which files the iPhone itself could not read.
    await this.unreadable?.finish();
    try {
      await checks();
    } catch (err) {
      await this.markUnfinished().catch(() => undefined);
      throw err;
    }
    this.store.fs.event?.('complete');
    const outcome = await this.preserver.finish();
    const id = await this.recordCurrent(full);
    const sizeBytes = await this.sizes.finish();
    const pruned =
      outcome.historyOff === true ? [] : await pruneVersions(this.root, this.udid, this.now(), this.store.fs);
    return {
      sizeBytes,
      id,
      ...(outcome.made === undefined ? {} : { versionMade: outcome.made }),
      ...(outcome.historyOff === true ? { historyOff: true } : {}),
      pruned,
    };
  }

  /** Names the new backup: the UTC time it completed, clear of every version's id. */
  private async recordCurrent(full: boolean): Promise<string> {
    const completed = this.now();
    const id = freeVersionId(versionIdAt(completed), new Set(await versionFolderIds(this.root, this.udid)));
    const status = await lstat(join(this.deviceDir, 'Status.plist'));
    const rec = { id, completed: completed.toISOString(), full, statusIno: status.ino };
    await writeCurrentRecord(this.root, this.udid, rec, this.store.fs);
    return id;
  }

  /** The run ends without completing: the copy it was filling becomes the last complete backup. */
  abandon(): Promise<void> {
    return this.preserver.abandon();
  }
}
