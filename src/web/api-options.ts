/** The shapes of the Options routes (automatic backup, Wi-Fi, the watch queue), shared with the page. */

/** GET/POST /api/devices/:udid/options. */
export interface OptionsView {
  udid: string;
  /** "Back up automatically when this iPhone is connected". */
  auto: boolean;
  every: string;
  lastBackup: string | null;
  /** From when a connection starts the next automatic backup (null: the next connection does). */
  nextBackupAfter: string | null;
  /** "Show this iPhone when on Wi-Fi"; null when the phone could not be asked (not trusted, busy). */
  wifi: boolean | null;
  /** A `watch` (the service or a terminal) is running on this computer. */
  watching: boolean;
}

/** GET /api/watch: what a running watch is doing. */
export interface WatchQueueView {
  watching: boolean;
  parallel: number;
  running: string[];
  queued: string[];
}
