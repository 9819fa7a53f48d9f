/** Every backup under the backup folder(s), newest first, with "Last Backup" per device. */
import { listBackups, type BackupSummary } from '../backup/list.js';

export interface ListedBackup {
  path: string;
  udid: string;
  deviceName: string | null;
  iosVersion: string | null;
  date: string | null;
  sizeBytes: number;
  encrypted: boolean;
  complete: boolean;
  kind: 'current' | 'archive' | 'previous';
}

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
    })),
  };
}
