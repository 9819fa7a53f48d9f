/**
 * Files the iPhone could not read to the end during a backup (it ended their upload with an error
 * block: iOS 17 FileProvider databases, pymobiledevice3 issues 755 and 507). Their blobs hold what
 * the phone sent, as libimobiledevice and pymobiledevice3 keep them, so `verify` must not mistake
 * them for damage on this computer: the run that completes records them in
 * `<root>/.ibackup/unreadable/<UDID>.json`, and `verify` reports them as warnings.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parentDir } from './fs-layer.js';

const RECORD_DIR = join('.ibackup', 'unreadable');
const FILE_ID = /^[0-9a-f]{40}$/;

export interface UnreadableFile {
  fileId: string;
  /** The file's path on the iPhone, as it named it. */
  devicePath: string;
  /** The phone's own words. */
  reason: string;
}

function recordPath(root: string, udid: string): string {
  return join(root, RECORD_DIR, `${udid}.json`);
}

/** The record of a device's backup folder `<root>/<UDID>` (empty when there is none or it is damaged). */
export async function readUnreadableRecord(backupDir: string): Promise<UnreadableFile[]> {
  const text = await readFile(recordPath(dirname(backupDir), basename(backupDir)), 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as { files?: unknown };
    return Array.isArray(parsed.files) ? parsed.files.filter(isUnreadableFile) : [];
  } catch {
    return [];
  }
}

function isUnreadableFile(v: unknown): v is UnreadableFile {
  const f = v as Partial<UnreadableFile> | null;
  return typeof f === 'object' && f !== null && typeof f.fileId === 'string' && FILE_ID.test(f.fileId) && typeof f.devicePath === 'string' && typeof f.reason === 'string';
}

/**
 * Saves what a complete run leaves unreadable: the files of earlier runs that this one did not
 * send again, plus this run's. Written whole (temp, then rename); none left removes the record.
 */
export async function saveUnreadableRecord(root: string, udid: string, earlier: readonly UnreadableFile[], resent: ReadonlySet<string>, now: readonly UnreadableFile[]): Promise<void> {
  const byId = new Map<string, UnreadableFile>();
  for (const f of earlier) if (!resent.has(f.fileId)) byId.set(f.fileId, f);
  for (const f of now) byId.set(f.fileId, f);
  const file = recordPath(root, udid);
  if (byId.size === 0) {
    await rm(file, { force: true });
    return;
  }
  await mkdir(parentDir(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify({ files: [...byId.values()] }, null, 1)}\n`);
  await rename(tmp, file);
}

/** Removes a device's record (its backup was deleted). */
export async function forgetUnreadableRecord(root: string, udid: string): Promise<void> {
  await rm(recordPath(root, udid), { force: true });
}
