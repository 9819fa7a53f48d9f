/**
 * The one error type of ibackup and the one list of stable error codes.
 *
 * Every failure that reaches a user carries a code (stable, never renamed; callers branch on it),
 * a message (what happened, in plain words) and a remedy (what to do about it).
 */

export interface ErrorCodeInfo {
  /** Default message when the thrower has nothing more specific to say. */
  readonly message: string;
  /** Default remedy: what the user can do. */
  readonly remedy: string;
}

export const ERROR_CODES = {
  USAGE: {
    message: 'The command was not used correctly.',
    remedy: 'Run the command with --help to see its options.',
  },
  INTERNAL: {
    message: 'ibackup hit an unexpected internal error.',
    remedy: 'Please report this with the command you ran and its output.',
  },
  USBMUXD_UNREACHABLE: {
    message: 'Cannot reach usbmuxd, the service that talks to iPhones over USB.',
    remedy:
      'Start usbmuxd (Linux: install the "usbmuxd" package and plug the iPhone in, or run "sudo systemctl start usbmuxd"; ' +
      'macOS: it is built in; Windows: install Apple Devices or iTunes), or set USBMUXD_SOCKET_ADDRESS.',
  },
  NO_DEVICE: {
    message: 'No iPhone is connected.',
    remedy: 'Connect the iPhone with a USB cable that carries data, straight to a USB port (not a hub), and unlock it.',
  },
  DEVICE_NOT_FOUND: {
    message: 'The iPhone you asked for is not connected.',
    remedy: 'Check the UDID or name with "ibackup devices", then connect and unlock that iPhone.',
  },
  MULTIPLE_DEVICES: {
    message: 'More than one iPhone is connected.',
    remedy: 'Choose one with -u UDID or -u "Device Name" (see "ibackup devices").',
  },
  NOT_PAIRED: {
    message: 'This computer is not trusted by the iPhone yet.',
    remedy: 'Run "ibackup pair", unlock the iPhone and tap "Trust" when it asks.',
  },
  TRUST_PENDING: {
    message: 'The iPhone is showing "Trust This Computer?" and waiting for an answer.',
    remedy: 'Unlock the iPhone, tap "Trust" and enter the passcode if asked.',
  },
  TRUST_DENIED: {
    message: 'The iPhone refused to trust this computer ("Don\'t Trust" was tapped).',
    remedy: 'Disconnect the iPhone, restart it, reconnect it, then run "ibackup pair" again and tap "Trust".',
  },
  DEVICE_LOCKED: {
    message: 'The iPhone is locked with its passcode.',
    remedy: 'Unlock the iPhone (enter its passcode) and keep it unlocked, then try again.',
  },
  PASSCODE_REQUIRED: {
    message: 'The iPhone is asking for its passcode.',
    remedy: 'Enter your iPhone passcode on the iPhone to allow the operation.',
  },
  TIMEOUT: {
    message: 'The device did not answer in time.',
    remedy: 'Make sure the iPhone stays connected and unlocked, then try again.',
  },
  CANCELLED: {
    message: 'The operation was cancelled.',
    remedy: 'Run the command again when you are ready.',
  },
  CONNECTION_CLOSED: {
    message: 'The connection to the device closed unexpectedly.',
    remedy: 'Check the cable and keep the iPhone unlocked, then try again.',
  },
  PROTOCOL_DECODE: {
    message: 'The device sent data that could not be understood.',
    remedy: 'Reconnect the iPhone and try again; if it keeps happening, please report it.',
  },
  FRAME_TOO_LARGE: {
    message: 'The device sent a message larger than allowed.',
    remedy: 'Reconnect the iPhone and try again; if it keeps happening, please report it.',
  },
  UNSAFE_PATH: {
    message: 'A path points outside the folder it must stay in.',
    remedy: 'Nothing was written outside the backup folder. If a device sent it, do not trust that device.',
  },
  DISK_FULL: {
    message: 'There is not enough free space on this computer for the backup.',
    remedy: 'Free some space or choose another folder with --backup-dir, then try again.',
  },
  DEVICE_BACKUP_ERROR: {
    message: 'The iPhone reported an error during the backup.',
    remedy: 'Restart the iPhone, reconnect it and try again.',
  },
  DEVICE_ERROR: {
    message: 'The iPhone reported an error.',
    remedy: 'Unlock the iPhone, reconnect it and try again.',
  },
  SERVICE_UNAVAILABLE: {
    message: 'A service needed on the iPhone could not be started.',
    remedy: 'Unlock the iPhone, reconnect it and try again.',
  },
  PASSWORD_REQUIRED: {
    message: 'A backup password is needed.',
    remedy: 'Give it with --password-stdin or IBACKUP_PASSWORD, or run in a terminal to be asked.',
  },
  WRONG_PASSWORD: {
    message: 'The backup password is not correct.',
    remedy:
      'Try again. If you forgot it: on the iPhone, Settings > General > Transfer or Reset iPhone > Reset > Reset All Settings removes it; then make a new backup.',
  },
  ENCRYPTION_STATE: {
    message: 'Backup encryption is already in the state asked for.',
    remedy: 'Check it with "ibackup encryption status".',
  },
  BACKUP_NOT_FOUND: {
    message: 'No backup was found there.',
    remedy: 'Run "ibackup list" to see the backups under the backup folder.',
  },
  VERSION_NOT_FOUND: {
    message: 'The backup history has no such version.',
    remedy: 'Run "ibackup history" to see the versions kept, and give one of their ids, latest, previous or latest~N.',
  },
  BACKUP_INCOMPLETE: {
    message: 'The backup is not complete.',
    remedy: 'Run "ibackup backup" again to finish it.',
  },
  DEVICE_SNAPSHOT_STUCK: {
    message:
      'The iPhone could not start a new backup: the snapshot left by an interrupted backup is still on the phone.',
    remedy: 'Restart the iPhone, then run the backup again.',
  },
  BACKUP_CORRUPT: {
    message: 'The backup is damaged.',
    remedy: 'Run "ibackup verify" for details, then make a new backup.',
  },
  FILE_ACCESS: {
    message: 'A file or folder on this computer could not be changed.',
    remedy:
      'Check that you may change the backup folder and that no other program (Finder, iTunes, a file indexer or virus scanner) is using it, then try again.',
  },
  HARD_LINKS_UNSUPPORTED: {
    message:
      'The backup disk cannot make hard links, so the last complete backup cannot be kept safe without copying it.',
    remedy:
      'Run the backup again with --allow-copy (it copies each file the backup replaces or removes, so it needs free space for them), or use a disk formatted as APFS, ext4 or NTFS.',
  },
  UNAUTHORIZED: {
    message: 'This request did not carry the access token of the web app.',
    remedy: 'Open the address that `ibackup ui` printed.',
  },
  FORBIDDEN: {
    message: "This request did not come from the web app's own page.",
    remedy: 'Open the address that `ibackup ui` printed, in the browser of this computer.',
  },
  NOT_FOUND: {
    message: 'There is nothing at this address.',
    remedy: 'Reload the page; if it keeps happening, restart `ibackup ui`.',
  },
  BUSY: {
    message: 'Something else is running on this iPhone.',
    remedy: 'Wait until it has finished, or cancel it, then try again.',
  },
  EXPORT_SOURCE_MISSING: {
    message: 'The backup does not hold the database this export reads.',
    remedy:
      'Check that the iPhone keeps this data on the phone (not only in iCloud), make a new backup, then try again.',
  },
  SCHEMA_UNKNOWN: {
    message: 'The database in the backup has a layout ibackup does not know, so it cannot be read safely.',
    remedy: 'Update ibackup; if the newest version still cannot read it, please report the iOS version of the backup.',
  },
  BACKUP_FOLDER_UNSUITABLE: {
    message: 'That folder cannot hold backups.',
    remedy: 'Choose an existing folder you may change, on a disk that makes hard links (APFS, HFS+, NTFS, ext4).',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface IbackupErrorOptions {
  message?: string;
  remedy?: string;
  cause?: unknown;
  /** Extra machine-readable facts (a MobileBackup code, a UDID, a path…). Never secrets. */
  details?: Record<string, unknown>;
}

const BRAND = Symbol.for('ibackup.IbackupError');

export class IbackupError extends Error {
  readonly code: ErrorCode;
  readonly remedy: string;
  readonly details: Record<string, unknown>;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, options: IbackupErrorOptions = {}) {
    const info: ErrorCodeInfo = ERROR_CODES[code];
    super(options.message ?? info.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IbackupError';
    this.code = code;
    this.remedy = options.remedy ?? info.remedy;
    this.details = options.details ?? {};
  }

  /** The `{code, message, remedy}` shape printed by `--json` and sent by the web app. */
  toJSON(): { code: ErrorCode; message: string; remedy: string } {
    return { code: this.code, message: this.message, remedy: this.remedy };
  }
}

/** True for an IbackupError, even one from a second copy of the package. */
export function isIbackupError(value: unknown): value is IbackupError {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

/** True when `value` is an IbackupError with this code. */
export function hasCode(value: unknown, code: ErrorCode): value is IbackupError {
  return isIbackupError(value) && value.code === code;
}

/** Shorthand for decoders: a PROTOCOL_DECODE error naming what was wrong. */
export function decodeError(what: string, cause?: unknown): IbackupError {
  return new IbackupError('PROTOCOL_DECODE', {
    message: `Malformed data: ${what}.`,
    ...(cause === undefined ? {} : { cause }),
  });
}
