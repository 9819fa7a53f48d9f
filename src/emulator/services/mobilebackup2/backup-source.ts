/**
 * What a Backup run reads from the virtual iPhone: its content, the files its iOS version cannot
 * read to the end (unreadable.ts), its record of what an unfinished run staged (kept in its state
 * folder: staged-record.ts), and whether the fault `reuse-stale-snapshot` is set.
 */
import type { DeviceContent, DeviceEntry } from '../../content/index.js';
import type { BackupSource } from './backup-script.js';
import { StagedRecordFile } from './staged-record.js';
import { unreadableReason } from './unreadable.js';

/** What a computer backup takes: every entry but the camera roll while iCloud Photos is on (photo-library.ts). */
function* backupEntries(content: DeviceContent): Generator<DeviceEntry> {
  for (const e of content.entries()) if (content.inBackup(e)) yield e;
}

export function deviceBackupSource(
  content: DeviceContent,
  productVersion: string,
  stateDir: string,
  reuseStaleSnapshot: () => boolean,
): BackupSource {
  return {
    entries: () => backupEntries(content),
    chunks: (e: DeviceEntry) => content.chunks(e),
    unreadable: (e: DeviceEntry) => unreadableReason(productVersion, e),
    stagedRecord: new StagedRecordFile(stateDir),
    reuseStaleSnapshot,
  };
}
