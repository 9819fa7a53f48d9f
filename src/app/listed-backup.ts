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
  kind: 'current' | 'archive' | 'previous';
  /** The device's last complete backup (what a restore would use): newest complete Status date. */
  lastComplete: boolean;
}
