/**
 * One backup as `ibackup list` and the web app show it. Types only, importing nothing: the web
 * page compiles it too (through the web API's types).
 */

export interface ListedBackup {
  path: string;
  udid: string;
  deviceName: string | null;
  iosVersion: string | null;
  date: string | null;
  sizeBytes: number;
  encrypted: boolean;
  complete: boolean;
  /** `version`: the phone's newest complete version, shown because its last run did not complete. */
  kind: 'current' | 'archive' | 'version';
  /** The device's last complete backup (what a restore would use): newest complete Status date. */
  lastComplete: boolean;
  /** The phone's backup history (its rows only). */
  versions?: ListedVersions;
  /** The phone's folder left unfinished by an interrupted backup (the row shows the version before it). */
  unfinished?: string;
}

export interface ListedVersions {
  /** Complete versions kept, the current backup included. */
  count: number;
  /** When the oldest completed (ISO). */
  oldest: string | null;
  /** Disk space of the whole history (hard-linked files counted once). */
  bytes: number;
}
