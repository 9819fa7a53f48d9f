/**
 * "Last Backup" of one device on this computer: the Status.plist Date of its newest complete
 * backup under the backup root(s) — `<UDID>` folders, the versions of its history (the newest is
 * the last complete backup after an interrupted run) and archived copies alike.
 */
import { readHistory } from '../backup/history.js';
import { lastBackupDate, listBackups, summarizeBackup, type BackupSummary } from '../backup/list.js';
import { udidsWithVersions } from '../backup/versions.js';

export interface LastBackup {
  /** The backup folder. */
  path: string;
  date: Date;
}

const bare = (udid: string): string => udid.replace(/-/g, '').toLowerCase();

async function backupsOf(roots: readonly string[], udid: string): Promise<BackupSummary[]> {
  const out: BackupSummary[] = [];
  for (const root of roots) {
    let list: BackupSummary[];
    try {
      list = await listBackups(root, { sizes: false });
    } catch {
      continue; // an unreadable root holds no backup we can use
    }
    const own = list.filter((b) => bare(b.udid) === bare(udid));
    out.push(...own);
    // A complete current backup is the newest version: the history is read only when it is not.
    if (!own.some((b) => b.kind === 'current' && b.complete)) out.push(...(await newestVersions(root, udid)));
  }
  return out;
}

/** The newest complete version of the device's history in `root`, when it is not its current folder. */
async function newestVersions(root: string, udid: string): Promise<BackupSummary[]> {
  const out: BackupSummary[] = [];
  for (const folder of (await udidsWithVersions(root)).filter((u) => bare(u) === bare(udid))) {
    const newest = (await readHistory(root, folder, { sizes: false }).catch(() => undefined))?.versions[0];
    if (newest !== undefined && !newest.current) out.push(await summarizeBackup(newest.path, { sizes: false }));
  }
  return out;
}

/** The newest complete backup of the device across `roots`, or null when there is none. */
export async function findLastBackup(roots: readonly string[], udid: string): Promise<LastBackup | null> {
  const backups = await backupsOf(roots, udid);
  const date = lastBackupDate(
    backups.map((b) => ({ ...b, udid })),
    udid,
  );
  if (date === null) return null;
  const hit = backups.find((b) => b.complete && b.statusDate?.getTime() === date.getTime());
  return { path: hit?.path ?? '', date };
}

/** True when some backup folder of the device exists (complete or not). */
export async function hasAnyBackup(roots: readonly string[], udid: string): Promise<boolean> {
  return (await backupsOf(roots, udid)).length > 0;
}
