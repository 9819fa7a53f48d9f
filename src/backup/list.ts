/**
 * Every backup under a backup root: `<UDID>` folders and their `<UDID>-YYYYMMDD-HHMMSS` archived
 * copies, each its own complete backup (backup-format.md §1.2). Hidden folders (ibackup's own
 * `.ibackup/`) and folders that hold no backup are skipped. Damaged backups are listed with their
 * problems, never thrown.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { looksLikeBackup, readBackupFolder } from './folder.js';
import type { BackupProblem } from './folder.js';
import { folderSize } from './folder-size.js';
import { savedSize } from './size-ledger.js';

export { folderSize };

/**
 * `current`: `<UDID>/`; `archive`: `<UDID>-YYYYMMDD-HHMMSS/`; `version`: an earlier version of a
 * phone's backup, under `.ibackup/versions/<UDID>/<id>/` (history.ts).
 */
export type BackupKind = 'current' | 'archive' | 'version';

export interface BackupSummary {
  /** Absolute or root-relative path of the backup folder. */
  path: string;
  /** The folder's name. */
  folder: string;
  /** Device UDID: Info.plist Target/Unique Identifier, Manifest Lockdown, else the folder name. */
  udid: string;
  deviceName?: string;
  iosVersion?: string;
  productType?: string;
  /** When the backup was made: Status.plist Date, else Manifest.plist Date, else Info.plist Last Backup Date. */
  date: Date | null;
  /** Status.plist Date alone (what "Last Backup" uses). */
  statusDate: Date | null;
  /** Bytes of all files in the folder (hard-linked files counted once). */
  sizeBytes: number;
  encrypted: boolean;
  /** Finished snapshot, no Snapshot/ left over, plists and Manifest.db present. */
  complete: boolean;
  kind: BackupKind;
  /** For an archive, the time in its folder name (local time of the computer that archived it). */
  archivedAt?: Date;
  /** Top-level problems (missing/damaged plists, unfinished snapshot). */
  problems: BackupProblem[];
}

export interface ListOptions {
  /** Compute folder sizes (walks every file; default true). */
  sizes?: boolean;
}

const ARCHIVE_NAME = /^(.+)-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/;

/** Splits `<UDID>-YYYYMMDD-HHMMSS` into the UDID and the time, or undefined for another name. */
export function parseArchiveName(name: string): { udid: string; date: Date } | undefined {
  const m = ARCHIVE_NAME.exec(name);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(2).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  return { udid: m[1] as string, date: new Date(y, mo - 1, d, h, mi, s) };
}

/** Summarises one backup folder. */
export async function summarizeBackup(dir: string, options: ListOptions = {}): Promise<BackupSummary> {
  const folder = await readBackupFolder(dir);
  const name = path.basename(dir);
  const archive = parseArchiveName(name);
  const { info, manifest, status } = folder;
  const lockdown = manifest?.lockdown;
  const udid = info?.targetIdentifier ?? info?.uniqueIdentifier ?? lockdown?.uniqueDeviceId ?? archive?.udid ?? name;
  const deviceName = info?.deviceName ?? lockdown?.deviceName;
  const iosVersion = info?.productVersion ?? lockdown?.productVersion;
  const productType = info?.productType ?? lockdown?.productType;
  const date = status?.date ?? manifest?.date ?? info?.lastBackupDate ?? null;
  const errors = folder.problems.filter(
    (p) => p.severity === 'error' && p.code !== 'INFO_PLIST_MISSING' && p.code !== 'INFO_PLIST_CORRUPT',
  );
  return {
    path: dir,
    folder: name,
    udid,
    ...(deviceName === undefined ? {} : { deviceName }),
    ...(iosVersion === undefined ? {} : { iosVersion }),
    ...(productType === undefined ? {} : { productType }),
    date,
    statusDate: status?.date ?? null,
    // A device's folder as its last complete run left it: the size that run saved (see size-ledger).
    sizeBytes:
      options.sizes === false
        ? 0
        : ((archive === undefined ? await savedSize(path.dirname(dir), name) : undefined) ?? (await folderSize(dir))),
    encrypted: manifest?.isEncrypted ?? false,
    complete: errors.length === 0 && (folder.hasManifestDb || folder.hasManifestMbdb),
    kind: archive === undefined ? 'current' : 'archive',
    ...(archive === undefined ? {} : { archivedAt: archive.date }),
    problems: folder.problems,
  };
}

/**
 * Lists every backup directly under `root`, sorted by UDID, then newest first. A missing root
 * gives an empty list.
 */
export async function listBackups(root: string, options: ListOptions = {}): Promise<BackupSummary[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  }
  const out: BackupSummary[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const dir = path.join(root, e.name);
    if (!looksLikeBackup(dir)) continue;
    out.push(await summarizeBackup(dir, options));
  }
  out.sort((a, b) => {
    if (a.udid.toLowerCase() !== b.udid.toLowerCase()) return a.udid.toLowerCase() < b.udid.toLowerCase() ? -1 : 1;
    return (b.date?.getTime() ?? 0) - (a.date?.getTime() ?? 0);
  });
  return out;
}

/**
 * "Last Backup" of a device: the Status.plist Date of its newest complete backup (UDIDs compared
 * case-insensitively), or null when it has none.
 */
export function lastBackupDate(backups: readonly BackupSummary[], udid: string): Date | null {
  let best: Date | null = null;
  for (const b of backups) {
    if (!b.complete || b.statusDate === null || b.udid.toLowerCase() !== udid.toLowerCase()) continue;
    if (best === null || b.statusDate > best) best = b.statusDate;
  }
  return best;
}
