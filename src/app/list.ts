/**
 * Every backup under the backup folder(s), newest first: one row per phone (its current backup,
 * or its newest complete version when the last run did not complete, with the count and size of
 * its history) and one per archive, with "Last Backup" per device.
 */
import { historyBytes, readHistory, type DeviceHistory } from '../backup/history.js';
import { lastBackupDate, listBackups, summarizeBackup, type BackupSummary } from '../backup/list.js';
import { udidsWithVersions } from '../backup/versions.js';
import type { ListedBackup, ListedVersions } from './listed-backup.js';

export type { ListedBackup };

export interface ListResult {
  backups: ListedBackup[];
}

interface Row {
  summary: BackupSummary;
  versions?: ListedVersions;
  unfinished?: string;
}

function versionsOf(h: DeviceHistory): ListedVersions {
  const oldest = h.versions[h.versions.length - 1];
  return { count: h.versions.length, oldest: oldest?.date.toISOString() ?? null, bytes: historyBytes(h) };
}

/** A phone's row: its current backup, else (interrupted) its newest complete version. */
async function phoneRow(root: string, udid: string, current: BackupSummary | undefined): Promise<Row | undefined> {
  const h = await readHistory(root, udid).catch(() => undefined);
  if (h === undefined) return current === undefined ? undefined : { summary: current };
  const versions = versionsOf(h);
  const newest = h.versions[0];
  if (current !== undefined && (current.complete || newest === undefined)) return { summary: current, versions };
  if (newest === undefined) return undefined;
  const summary = { ...(await summarizeBackup(newest.path)), kind: 'version' as const };
  return { summary, versions, ...(h.unfinished === null ? {} : { unfinished: h.unfinished }) };
}

async function rowsOf(root: string): Promise<Row[]> {
  const listed = await listBackups(root).catch(() => [] as BackupSummary[]);
  const rows: Row[] = listed.filter((b) => b.kind === 'archive').map((summary) => ({ summary }));
  const currents = new Map(listed.filter((b) => b.kind === 'current').map((b) => [b.folder, b]));
  const udids = new Set([...currents.keys(), ...(await udidsWithVersions(root))]);
  for (const udid of udids) {
    const row = await phoneRow(root, udid, currents.get(udid));
    if (row !== undefined) rows.push(row);
  }
  return rows;
}

export async function listAllBackups(roots: readonly string[]): Promise<ListResult> {
  const seen = new Set<string>();
  const rows: Row[] = [];
  for (const root of roots) {
    for (const r of await rowsOf(root)) {
      if (seen.has(r.summary.path)) continue;
      seen.add(r.summary.path);
      rows.push(r);
    }
  }
  rows.sort((a, b) => (b.summary.date?.getTime() ?? 0) - (a.summary.date?.getTime() ?? 0));
  const all = rows.map((r) => r.summary);
  // Per device, the newest complete backup; on a tie the phone's own row wins over an archive.
  const last = new Set<BackupSummary>();
  for (const udid of new Set(all.map((b) => b.udid.toLowerCase()))) {
    const when = lastBackupDate(all, udid)?.getTime();
    const best = all
      .filter((b) => b.complete && b.udid.toLowerCase() === udid && b.statusDate?.getTime() === when)
      .sort((a, b) => Number(a.kind === 'archive') - Number(b.kind === 'archive'))[0];
    if (best) last.add(best);
  }
  return { backups: rows.map((r) => listed(r, last.has(r.summary))) };
}

function listed(r: Row, lastComplete: boolean): ListedBackup {
  const b = r.summary;
  return {
    path: b.path,
    udid: b.udid,
    deviceName: b.deviceName ?? null,
    iosVersion: b.iosVersion ?? null,
    date: (b.statusDate ?? b.date)?.toISOString() ?? null,
    sizeBytes: b.sizeBytes,
    encrypted: b.encrypted,
    complete: b.complete,
    kind: b.kind,
    lastComplete,
    ...(r.versions === undefined ? {} : { versions: r.versions }),
    ...(r.unfinished === undefined ? {} : { unfinished: r.unfinished }),
  };
}
