/**
 * `watch` as the CLI, the login service and the web app start it: the Watcher with the phones'
 * automatic backup settings from ibackup's own folder, their last backups from the backup roots,
 * and its queue published in watch-status.json for the web app.
 */
import { clearWatchStatus, readWatchStatus, writeWatchStatus, type WatchStatusFile } from '../backup/watch-status.js';
import { ibackupConfigDir } from '../app-dirs.js';
import { openAutoPolicy } from './auto.js';
import type { HostContext } from './context.js';
import { findLastBackup } from './last-backup.js';
import { Watcher, type WatchEvent, type WatchOptions } from './watch.js';

export type { WatchStatusFile } from '../backup/watch-status.js';

export interface WatchServiceOptions extends Partial<
  Pick<WatchOptions, 'parallel' | 'retryMs' | 'tickMs' | 'reconnectMs' | 'now' | 'backup'>
> {
  ctx: HostContext;
  /** The backup roots; new backups go to the first. */
  roots: readonly string[];
  onEvent: (e: WatchEvent) => void;
  /** ibackup's own folder (default per OS). */
  configDir?: string;
}

/** Runs watch until `signal` aborts; its queue is kept in watch-status.json while it runs. */
export async function runWatch(opts: WatchServiceOptions, signal: AbortSignal): Promise<void> {
  const dir = opts.configDir ?? ibackupConfigDir();
  const store = openAutoPolicy(dir);
  let writing = Promise.resolve();
  const publish = (): void => {
    const s = watcher.snapshot();
    const file: WatchStatusFile = { pid: process.pid, updatedAt: new Date().toISOString(), ...s };
    writing = writing.then(() => writeWatchStatus(dir, file)).catch(() => undefined);
  };
  const { ctx, roots, onEvent, configDir: _dir, ...rest } = opts;
  const watcher: Watcher = new Watcher({
    ...rest,
    ctx,
    root: roots[0] as string,
    roots,
    policy: (udid) => store.get(udid),
    lastBackup: async (udid) => (await findLastBackup(roots, udid))?.date ?? null,
    onEvent: (e) => {
      onEvent(e);
      if (e.event !== 'progress') publish();
    },
  });
  publish();
  try {
    await watcher.run(signal);
  } finally {
    await writing;
    await clearWatchStatus(dir, process.pid).catch(() => undefined);
  }
}

/** What a running watch (any process) is doing, or null when none runs. */
export function watchStatus(configDir: string = ibackupConfigDir()): Promise<WatchStatusFile | null> {
  return readWatchStatus(configDir);
}
