/**
 * What each backup held of the phone's photo library, recorded when the backup was made, so that
 * an encrypted backup needs no password to say it: `<root>/.ibackup/photos/<UDID>.json`, beside
 * the backups (never inside a backup folder), newest record last, at most 200 records, replaced
 * atomically. A missing or unreadable file means nothing was recorded.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface PhotoCountsRecord {
  /** The backup's date (Status.plist Date, ISO). */
  date: string;
  /** The backup folder. */
  path: string;
  encrypted: boolean;
  icloudPhotos: 'on' | 'off' | 'unknown';
  /** The phone's library when the backup was made. */
  library: { photos: number; videos: number; hidden: number; recentlyDeleted: number };
  originalsNotOnDevice: number;
  /** Photos and videos (Recently Deleted left out) whose original is in the backup. */
  inBackup: { photos: number; videos: number };
  /** Library items whose original is not in the backup. */
  notInBackup: number;
  /** True when counted from the backup's own list of files; false when predicted (an encrypted backup). */
  measured: boolean;
}

const MAX_RECORDS = 200;

function fileOf(root: string, udid: string): string {
  const safe = udid.replace(/[^0-9A-Za-z-]/g, '_');
  return path.join(root, '.ibackup', 'photos', `${safe}.json`);
}

function isRecord(v: unknown): v is PhotoCountsRecord {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['date'] === 'string' && typeof o['inBackup'] === 'object' && typeof o['library'] === 'object';
}

/** The records of one device, oldest first. */
export async function readPhotoCounts(root: string, udid: string): Promise<PhotoCountsRecord[]> {
  try {
    const doc = JSON.parse(await readFile(fileOf(root, udid), 'utf8')) as { records?: unknown };
    return Array.isArray(doc.records) ? doc.records.filter(isRecord) : [];
  } catch {
    return [];
  }
}

/** Adds a record (replacing one of the same backup date). */
export async function addPhotoCounts(root: string, udid: string, record: PhotoCountsRecord): Promise<void> {
  const records = (await readPhotoCounts(root, udid)).filter((r) => r.date !== record.date);
  records.push(record);
  const file = fileOf(root, udid);
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(
      temp,
      `${JSON.stringify({ format: 'ibackup-photo-counts', version: 1, records: records.slice(-MAX_RECORDS) }, null, 1)}\n`,
    );
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** The record of the backup made at `date` (ISO; null when it has none, e.g. made by another tool), or of the newest. */
export function recordFor(records: readonly PhotoCountsRecord[], date: string | null): PhotoCountsRecord | null {
  if (date === null) return records.at(-1) ?? null;
  const t = new Date(date).getTime();
  return records.find((r) => new Date(r.date).getTime() === t) ?? null;
}
