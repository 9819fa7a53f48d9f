/**
 * What a running `watch` is doing, for the web app's queue view and `ibackup auto status`:
 * `<ibackup's folder>/watch-status.json` ({pid, updatedAt, parallel, running, queued, phones}),
 * rewritten (temporary name, then rename) at every change. A file whose process is gone is stale.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from './auto-policy.js';

export const WATCH_STATUS_FILE = 'watch-status.json';

export interface WatchStatusFile {
  pid: number;
  updatedAt: string;
  parallel: number;
  running: string[];
  queued: string[];
  phones: { udid: string; connected: boolean; connection: string | null; running: boolean; retryAfter?: string }[];
}

export function watchStatusPath(dir: string): string {
  return join(dir, WATCH_STATUS_FILE);
}

export function writeWatchStatus(dir: string, status: WatchStatusFile): Promise<void> {
  return writeAtomic(watchStatusPath(dir), `${JSON.stringify(status)}\n`);
}

/** Removes the file when the watch that wrote it stops. */
export async function clearWatchStatus(dir: string, pid: number): Promise<void> {
  const s = await readWatchStatus(dir, () => true);
  if (s?.pid === pid) await rm(watchStatusPath(dir), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The status of a running watch, or null (none, unreadable, or its process is gone). */
export async function readWatchStatus(
  dir: string,
  isAlive: (pid: number) => boolean = alive,
): Promise<WatchStatusFile | null> {
  try {
    const v = JSON.parse(await readFile(watchStatusPath(dir), 'utf8')) as WatchStatusFile;
    if (typeof v.pid !== 'number' || !Array.isArray(v.running) || !Array.isArray(v.queued)) return null;
    if (!Array.isArray(v.phones) || !isAlive(v.pid)) return null;
    return v;
  } catch {
    return null;
  }
}
