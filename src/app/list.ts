/** Every backup under the backup folder(s), newest first, with "Last Backup" per device. */
import { lastBackupDate, listBackups, type BackupSummary } from '../backup/list.js';
import type { ListedBackup } from './listed-backup.js';

export type { ListedBackup };

export interface ListResult {
  backups: ListedBackup[];
}

export async function listAllBackups(roots: readonly string[]): Promise<ListResult> {
  const seen = new Set<string>();
  const all: BackupSummary[] = [];
  for (const root of roots) {
    for (const b of await listBackups(root).catch(() => [] as BackupSummary[])) {
      if (seen.has(b.path)) continue;
      seen.add(b.path);
      all.push(b);
    }
  }
  all.sort((a, b) => (b.date?.getTime() ?? 0) - (a.date?.getTime() ?? 0));
  // Per device, the newest complete backup; on a tie the device's own folder wins over a kept copy.
  const last = new Set<BackupSummary>();
  const rank = { current: 0, archive: 1, previous: 2 } as const;
  for (const udid of new Set(all.map((b) => b.udid.toLowerCase()))) {
    const when = lastBackupDate(all, udid)?.getTime();
    const best = all
      .filter((b) => b.complete && b.udid.toLowerCase() === udid && b.statusDate?.getTime() === when)
      .sort((a, b) => rank[a.kind] - rank[b.kind])[0];
    if (best) last.add(best);
  }
  return {
    backups: all.map((b) => ({
      path: b.path,
      udid: b.udid,
      deviceName: b.deviceName ?? null,
      iosVersion: b.iosVersion ?? null,
      date: (b.statusDate ?? b.date)?.toISOString() ?? null,
      sizeBytes: b.sizeBytes,
      encrypted: b.encrypted,
      complete: b.complete,
      kind: b.kind,
      lastComplete: last.has(b),
    })),
  };
}
