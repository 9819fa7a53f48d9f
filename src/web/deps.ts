/** What the route modules share: the device monitor, the jobs, the event bus and the backup roots. */
import { listAllBackups } from '../app/list.js';
import type { BackupView } from './api.js';
import type { DevicesMonitor } from './devices-monitor.js';
import type { Log } from './http-errors.js';
import type { JobManager } from './jobs.js';
import type { EventBus } from './sse.js';

export interface Deps {
  monitor: DevicesMonitor;
  jobs: JobManager;
  bus: EventBus;
  /** Backup roots; the first is where backups go. */
  roots: readonly string[];
  log: Log;
  /** What to close when the server stops (open backups of the browser). */
  closing?: Array<() => void>;
}

/** Every backup under the roots, as GET /api/backups lists them. */
export async function backupViews(roots: readonly string[]): Promise<BackupView[]> {
  return (await listAllBackups(roots)).backups;
}

/** Per server: the number of the last listing of backups started, and of the last one sent. */
const listings = new WeakMap<Deps, { started: number; sent: number }>();

/**
 * Sends a `backups` event and a fresh `devices` snapshot (Last Backup may have changed). Listings
 * may overlap (a job's end, a change of the backup folder): one that ends after a later one was
 * sent is dropped, so the page never goes back to an older list — of a folder no longer used.
 * `list` lists the backups under the roots (the tests give listings of set durations).
 */
export async function backupsChanged(
  deps: Deps,
  list: (roots: readonly string[]) => Promise<BackupView[]> = backupViews,
): Promise<void> {
  let seq = listings.get(deps);
  if (seq === undefined) listings.set(deps, (seq = { started: 0, sent: 0 }));
  const mine = ++seq.started;
  try {
    // The roots as they are now: Change… of the folder replaces the shared list's contents.
    const backups = await list([...deps.roots]);
    if (mine < seq.sent) return;
    seq.sent = mine;
    deps.bus.publish({ type: 'backups', backups });
    await deps.monitor.refreshLastBackups();
  } catch (err) {
    deps.log(`listing backups: ${String(err)}`);
  }
}
