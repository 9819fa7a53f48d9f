/**
 * "Last Backup" of one device on this computer: the Status.plist Date of its complete backup
 * under the backup root(s), looked up by UDID (with and without the dash).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSnapshotFinished, readStatusPlist } from '../backup/status.js';

export interface LastBackup {
  /** The backup folder. */
  path: string;
  date: Date;
}

function folderNames(udid: string): string[] {
  const bare = udid.replace(/-/g, '');
  const names = [udid, udid.toUpperCase(), bare, bare.toUpperCase()];
  if (bare.length === 24) names.push(`${bare.slice(0, 8)}-${bare.slice(8)}`.toUpperCase());
  return [...new Set(names)];
}

/** The newest complete backup of the device across `roots`, or null when there is none. */
export async function findLastBackup(roots: readonly string[], udid: string): Promise<LastBackup | null> {
  let best: LastBackup | null = null;
  for (const root of roots) {
    for (const name of folderNames(udid)) {
      const path = join(root, name);
      try {
        const status = await readStatusPlist(path);
        if (isSnapshotFinished(status) && status.date && (!best || status.date > best.date)) best = { path, date: status.date };
      } catch {
        // No backup there (ENOENT), or a damaged Status.plist: not a complete backup.
      }
    }
  }
  return best;
}

/** True when some backup folder of the device exists (complete or not). */
export async function hasAnyBackup(roots: readonly string[], udid: string): Promise<boolean> {
  for (const root of roots) {
    for (const name of folderNames(udid)) {
      try {
        const st = await stat(join(root, name, 'Manifest.plist'));
        if (st.isFile()) return true;
      } catch {
        // not there
      }
    }
  }
  return false;
}
