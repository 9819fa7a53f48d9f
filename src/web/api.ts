/**
 * The contract between the local web server and its page: every JSON body and server-sent event.
 * Types only (the page imports them with `import type`); the server is the one that fills them.
 *
 * Routes (all JSON; every /api/* route needs the token, see the server's auth):
 *   GET  /api/devices                         → DevicesResponse
 *   POST /api/devices/:udid/trust             → { job: JobView }   ("Trust This Computer" flow)
 *   POST /api/devices/:udid/backup            BackupRequest → { job: JobView }
 *   POST /api/devices/:udid/encryption        EncryptionRequest → EncryptionResponse
 *   POST /api/devices/:udid/restore           RestoreRequest → { job: JobView }
 *   GET  /api/jobs/:id                        → { job: JobView }
 *   POST /api/jobs/:id/cancel                 → { job: JobView }
 *   GET  /api/backups                         → BackupsResponse
 *   POST /api/backups/verify                  VerifyRequest → VerifyResponse
 *   POST /api/backups/delete                  { path } → { deleted: string }
 *   POST /api/backups/archive                 { path } → { archive: string }
 *   POST /api/password-strength               { password } → StrengthResponse
 *   GET  /api/events                          text/event-stream of ServerEvent (one `data:` JSON
 *                                             per event, `event:` = its `type`)
 * Errors: any non-2xx status carries ApiError (401 without the token, 403 a foreign Host or
 * Origin, 400 bad input, 404 unknown device/job/backup, 409 busy or not allowed now, 422 a problem
 * the owner can fix such as WRONG_PASSWORD, DEVICE_LOCKED, TRUST_DENIED or DISK_FULL, 503 usbmuxd
 * unreachable, 500 otherwise). POST /api/devices/:udid/restore checks the password before it
 * answers (400 PASSWORD_REQUIRED, 422 WRONG_PASSWORD). Job progress arrives as `job` events
 * (at most ~10 a second per job); `devices` snapshots follow job starts, phase changes and ends.
 */

import type { ListedBackup } from '../app/listed-backup.js';

/** An IbackupError as the page shows it: what happened and what to do. */
export interface ErrorView {
  code: string;
  message: string;
  remedy: string | null;
}

export interface ApiError {
  error: ErrorView;
}

/**
 * Where a connected device stands with this computer:
 * - trusted: a pairing exists and works;
 * - pending: the phone shows "Trust This Computer?" and waits for the owner;
 * - locked: the phone is locked and shows no dialog until unlocked;
 * - denied: the owner tapped "Don't Trust" (unplug and plug in again, or press Trust again);
 * - untrusted: no pairing yet and no dialog running (the page offers "Trust").
 */
export type TrustState = 'trusted' | 'pending' | 'locked' | 'denied' | 'untrusted';

export interface DeviceView {
  udid: string;
  connection: 'USB' | 'Network';
  /** Values every host can read, even before trust (null while the device does not answer). */
  name: string | null;
  model: string | null;
  productType: string | null;
  iosVersion: string | null;
  trust: TrustState;
  /** After trust only (null before). */
  serial: string | null;
  capacityBytes: number | null;
  usedBytes: number | null;
  /** "Encrypt local backup" as the device has it; null before trust. */
  encryption: boolean | null;
  /** Status.plist date of the newest complete backup of this device under the backup folder. */
  lastBackup: string | null;
  /** The job running on this device (backup, restore, trust, encryption change), if any. */
  job: JobView | null;
  /**
   * Why Back Up Now is disabled right now (untrusted, locked, busy…), in plain words; null when
   * it can be pressed.
   */
  backupBlocked: string | null;
  /** The last problem talking to the device (shown with its remedy), or null. */
  problem: ErrorView | null;
}

export interface DevicesResponse {
  devices: DeviceView[];
  /** The folder backups go to. */
  backupDir: string;
  /** Set when usbmuxd cannot be reached (the sidebar shows it with its remedy). */
  problem: ErrorView | null;
}

export type JobKind = 'backup' | 'restore' | 'trust' | 'encryption' | 'photos' | 'export';
export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

export interface JobView {
  id: string;
  udid: string;
  kind: JobKind;
  state: JobState;
  /**
   * backup: preparing | waiting-for-passcode | backing-up | finishing;
   * restore: preparing | waiting-for-passcode | restoring | finishing;
   * trust: waiting-for-trust | locked | trusted.
   */
  phase: string;
  percent: number | null;
  bytesDone: number;
  bytesTotal: number | null;
  /**
   * A backup: the size of this phone's previous complete backup, the "about" total the bytes are
   * told against; null for a first backup.
   */
  bytesExpected: number | null;
  filesDone: number;
  /** Bytes per second since the job started; null until known. */
  bytesPerSecond: number | null;
  /** Seconds left, from the percent (or the bytes against bytesExpected) at a steady pace; null until known. */
  etaSeconds: number | null;
  startedAt: string;
  finishedAt: string | null;
  /** The phone shows its passcode prompt (the page tells the owner to enter it on the phone). */
  waitingForPasscode: boolean;
  /** Warnings worth showing (low disk space for an incremental, …). */
  warnings: string[];
  error: ErrorView | null;
  /** What finished: for a backup, its folder and date; for a restore, the backup used. */
  result: JobResult | null;
}

export interface JobResult {
  /** A readable export (contacts, messages…): what it wrote. */
  export?: ExportResultView;
  path?: string;
  date?: string;
  sizeBytes?: number;
  full?: boolean;
  encrypted?: boolean;
  /** The whole new backup was verified before it was called complete. */
  verified?: boolean;
  /** A backup: what it holds of the photo library (null when the library could not be read). */
  photos?: BackupPhotosView | null;
  /** A photo export: what it copied. */
  exported?: PhotoExportView;
}

/** What a backup holds of the phone's photo library, recorded when it was made. */
export interface BackupPhotosView {
  date: string;
  icloudPhotos: 'on' | 'off' | 'unknown';
  library: PhotoLibraryCounts;
  originalsNotOnDevice: number;
  inBackup: { photos: number; videos: number };
  notInBackup: number;
  measured: boolean;
}

export interface PhotoLibraryCounts {
  photos: number;
  videos: number;
  hidden: number;
  recentlyDeleted: number;
}

/** GET /api/devices/:udid/photos (CLI.md's `photos status`, with the advice to show). */
export interface PhotosStatusView {
  udid: string;
  library: PhotoLibraryCounts;
  icloudPhotos: 'on' | 'off' | 'unknown';
  originalsNotOnDevice: number;
  inLastBackup: BackupPhotosView | null;
  advice: string | null;
}

/** POST /api/devices/:udid/photos/export. */
export interface PhotoExportRequest {
  out: string;
  since?: string;
  album?: string;
  edited?: boolean;
  hidden?: boolean;
}

export interface PhotoExportView {
  copied: number;
  skipped: number;
  notOnDevice: number;
  bytes: number;
  out: string;
}

/** One tile of POST /api/backups/photos. */
export interface PhotoTileView {
  id: number;
  name: string;
  kind: 'photo' | 'video';
  created: string | null;
  show: 'original' | 'thumbnail' | 'icon';
  inBackup: boolean;
}

/** POST /api/backups/photos {path, password?, offset?, limit?}: a page of a backup's photos. */
export interface PhotoPageResponse {
  total: number;
  offset: number;
  items: PhotoTileView[];
}

export interface BackupRequest {
  /** A full backup instead of an incremental one. */
  full?: boolean;
  /** Verify the whole new backup before it counts as complete. */
  verify?: boolean;
  /** For `verify` of an encrypted backup: its password (never stored, logged or sent back). */
  password?: string;
}

export interface EncryptionRequest {
  action: 'on' | 'off' | 'change';
  /** The current password (off, change). */
  password?: string;
  /** The new password (on, change); the page asks twice and compares before sending. */
  newPassword?: string;
}

export interface EncryptionResponse {
  udid: string;
  encryption: boolean;
}

export interface RestoreRequest {
  /** The backup folder to restore from (one of GET /api/backups' paths). */
  path: string;
  /** Needed when the backup is encrypted; checked on the computer before the phone is touched. */
  password?: string;
}

/** One backup in the backup folder, as `ibackup list` shows it too. */
export type BackupView = ListedBackup;

export interface BackupsResponse {
  backupDir: string;
  backups: BackupView[];
}

export interface VerifyRequest {
  path: string;
  password?: string;
}

export interface VerifyResponse {
  ok: boolean;
  counts: Record<string, number>;
  problems: { code: string; message: string; path?: string }[];
}

export interface StrengthResponse {
  /** 0 (very weak) … 4 (strong). */
  score: number;
  /** A plain-words verdict, e.g. "Strong". */
  label: string;
  /** Hints to make it stronger (empty when strong). */
  suggestions: string[];
  /** The seed's advice about choosing and keeping the password. */
  advice: string;
}

/** What GET /api/events sends. The first event on every connection is a `devices` snapshot. */
export type ServerEvent =
  | { type: 'devices'; devices: DeviceView[]; problem: ErrorView | null }
  | { type: 'job'; job: JobView }
  | { type: 'backups'; backups: BackupView[] };

/**
 * A phone's backup history (Manage Backups → Show versions). Every history route takes the phone's
 * row as GET /api/backups lists it (`path`) and a version id its history names; never a version's
 * folder as the page sent it.
 *   POST /api/history                { path } → HistoryView
 *   POST /api/history/files          VersionRequest & { password?, filter? } → VersionFilesResponse
 *   POST /api/history/verify         VersionRequest & { password? } → VerifyResponse
 *   POST /api/history/diff           VersionRequest & { password? } → VersionDiffView (with the version before it)
 *   POST /api/history/pin            VersionRequest & { pinned } → HistoryView
 *   POST /api/history/archive        VersionRequest → { archive: string }
 *   POST /api/history/delete         VersionRequest → { deleted: string }
 *   POST /api/history/restore        VersionRequest & { udid, password? } → { job: JobView }
 */
export interface VersionRequest {
  /** The phone's row in GET /api/backups. */
  path: string;
  /** A version id (UTC `YYYYMMDD-HHMMSS`) that the phone's history names. */
  version: string;
}

export interface VersionView {
  id: string;
  /** When the backup completed (ISO). */
  date: string;
  iosVersion: string | null;
  full: boolean;
  encrypted: boolean;
  /** Encrypted under a backup password used before the latest one. */
  earlierPassword: boolean;
  /**
   * Versions with the same value open with the same password (a fingerprint of the keybag's
   * public identifiers, not of the password); null when not encrypted.
   */
  passwordGroup: string | null;
  files: number;
  sizeBytes: number;
  /** What deleting this version frees. */
  uniqueBytes: number;
  pinned: boolean;
  /** The newest version: the phone's backup Finder sees. */
  current: boolean;
}

export interface RetentionPolicyView {
  allForSeconds: number;
  dailyForSeconds: number;
  weeklyForSeconds: number;
  max: number;
}

export interface HistoryView {
  udid: string;
  deviceName: string | null;
  /** Newest first. */
  versions: VersionView[];
  sharedBytes: number;
  /** The whole history on disk (hard-linked files counted once). */
  totalBytes: number;
  /** A backup that did not complete left the phone's folder unfinished (it is not a version). */
  unfinished: boolean;
  policy: RetentionPolicyView;
}

export interface VersionFileView {
  domain: string;
  relativePath: string;
  size: number;
}

export interface VersionFilesResponse {
  /** Files matching the filter. */
  total: number;
  /** The first of them (at most 500), by domain and path. */
  files: VersionFileView[];
}

export interface VersionDiffView {
  from: string;
  to: string;
  counts: { added: number; changed: number; removed: number };
  /** The first entries of each list (at most 20). */
  added: VersionFileView[];
  changed: VersionFileView[];
  removed: VersionFileView[];
}

/** What a readable export wrote (the CLI's `export` result, files counted). */
export interface ExportResultView {
  kind: string;
  items: number;
  files: number;
  out: string;
  format: string;
}

/** POST /api/backups/export: one kind of readable export of a listed backup into a folder. */
export interface ExportRequest {
  path: string;
  kind: 'contacts' | 'messages' | 'calls' | 'notes' | 'voicemail';
  out: string;
  format?: string;
  /** messages: only this conversation (its identifier, a number, an e-mail or a name). */
  chat?: string;
  since?: string;
  password?: string;
}

/** POST /api/backups/conversations: the conversations of a listed backup, newest first. */
export interface ConversationsResponse {
  conversations: { title: string; identifier: string; messages: number; last: string | null }[];
}
