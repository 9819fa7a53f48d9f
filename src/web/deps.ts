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

/** Sends a `backups` event and a fresh `devices` snapshot (Last Backup may have changed). */
export async function backupsChanged(deps: Deps): Promise<void> {
  try {
    deps.bus.publish({ type: 'backups', backups: await backupViews(deps.roots) });
    await deps.monitor.refreshLastBackups();
  } catch (err) {
    deps.log(`listing backups: ${String(err)}`);
  }
}
