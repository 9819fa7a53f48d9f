/**
 * `ibackup info`: what Finder shows on a device's General tab — name, model, iOS, serial,
 * capacity and used space, whether backups are encrypted, and the last backup on this computer.
 */
import { historyBytes, readHistory } from '../backup/history.js';
import { historyOwner } from '../backup/versions.js';
import type { HostDevice } from '../host/device.js';
import { modelName } from '../host/models.js';
import type { PlistDict, PlistValue } from '../protocol/plist/index.js';
import { findLastBackup } from './last-backup.js';

export interface DeviceInfo {
  udid: string;
  name: string;
  model: string;
  productType: string;
  iosVersion: string;
  buildVersion: string | null;
  serial: string | null;
  capacityBytes: number | null;
  usedBytes: number | null;
  /** A backup password is set on the device (com.apple.mobile.backup WillEncrypt). */
  encryption: boolean;
  /** ISO date of the newest complete backup under the backup root, or null. */
  lastBackup: string | null;
  /** That backup's folder, or null. */
  lastBackupPath: string | null;
  /** The versions of its backup kept on this computer (`ibackup history`), when it has any. */
  history: { versions: number; oldest: string | null; bytes: number } | null;
}

export interface InfoOptions {
  /** Backup roots to look for the last backup in (the chosen one first). */
  backupRoots: readonly string[];
  signal?: AbortSignal;
}

function num(v: PlistValue | undefined): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

const str = (v: PlistValue | undefined): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Capacity and used space as Finder's bar shows them (used includes the system). */
export function diskFigures(disk: PlistDict): { capacityBytes: number | null; usedBytes: number | null } {
  const capacity = num(disk.TotalDiskCapacity) ?? num(disk.TotalDataCapacity);
  const available = num(disk.TotalDataAvailable) ?? num(disk.AmountDataAvailable);
  const used = capacity !== null && available !== null ? Math.max(0, capacity - available) : null;
  return { capacityBytes: capacity, usedBytes: used };
}

async function optionalDomain(read: () => Promise<PlistDict>): Promise<PlistDict> {
  try {
    return await read();
  } catch {
    return {};
  }
}

/** Reads the device's values in a trusted session (NOT_PAIRED / DEVICE_LOCKED when it cannot start). */
/** Count, oldest and space of the history the last backup belongs to. */
async function historySummary(path: string): Promise<DeviceInfo['history']> {
  const owner = historyOwner(path);
  if (owner === undefined) return null;
  const h = await readHistory(owner.root, owner.udid).catch(() => undefined);
  if (h === undefined || h.versions.length === 0) return null;
  const bytes = historyBytes(h);
  const oldest = h.versions[h.versions.length - 1]?.date.toISOString() ?? null;
  return { versions: h.versions.length, oldest, bytes };
}

export async function deviceInfo(device: HostDevice, opts: InfoOptions): Promise<DeviceInfo> {
  const { root, disk, backup } = await device.withSession(async (lockdown) => {
    const rootValues = await lockdown.getDomain();
    const diskValues = await optionalDomain(() => lockdown.getDomain('com.apple.disk_usage'));
    const backupValues = await optionalDomain(() => lockdown.getDomain('com.apple.mobile.backup'));
    return { root: rootValues, disk: diskValues, backup: backupValues };
  }, opts.signal);
  const udid = str(root.UniqueDeviceID) ?? device.udid;
  const productType = str(root.ProductType) ?? '';
  const last = await findLastBackup(opts.backupRoots, udid);
  return {
    udid,
    name: str(root.DeviceName) ?? '',
    model: modelName(productType),
    productType,
    iosVersion: str(root.ProductVersion) ?? '',
    buildVersion: str(root.BuildVersion),
    serial: str(root.SerialNumber),
    ...diskFigures(disk),
    encryption: backup.WillEncrypt === true,
    lastBackup: last ? last.date.toISOString() : null,
    lastBackupPath: last ? last.path : null,
    history: last ? await historySummary(last.path) : null,
  };
}
