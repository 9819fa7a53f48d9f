/**
 * Errors as the web app sends them: an ErrorView (code, message, remedy) and an HTTP status.
 *
 * Status per error code:
 * - 400: bad input (USAGE, PASSWORD_REQUIRED: a field is missing or wrong);
 * - 401: UNAUTHORIZED (no or wrong token); 403: FORBIDDEN (foreign Host or Origin);
 * - 404: NOT_FOUND, DEVICE_NOT_FOUND, NO_DEVICE, BACKUP_NOT_FOUND (unknown route, device, job, backup);
 * - 409: BUSY, NOT_PAIRED, ENCRYPTION_STATE (busy, or not allowed in the present state);
 * - 422: expected problems with the device or the backup that the owner can fix (TRUST_*,
 *   DEVICE_LOCKED, PASSCODE_REQUIRED, WRONG_PASSWORD, DISK_FULL, BACKUP_INCOMPLETE,
 *   BACKUP_CORRUPT, HARD_LINKS_UNSUPPORTED, FILE_ACCESS, CANCELLED);
 * - 503: USBMUXD_UNREACHABLE; 500: everything else (INTERNAL for errors that are not IbackupErrors,
 *   whose details go to the server's log only).
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { IbackupError, isIbackupError, type ErrorCode } from '../errors.js';
import type { ApiError, ErrorView } from './api.js';

export type Log = (line: string) => void;

const STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  USAGE: 400,
  PASSWORD_REQUIRED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  DEVICE_NOT_FOUND: 404,
  NO_DEVICE: 404,
  BACKUP_NOT_FOUND: 404,
  BUSY: 409,
  NOT_PAIRED: 409,
  ENCRYPTION_STATE: 409,
  TRUST_PENDING: 422,
  TRUST_DENIED: 422,
  DEVICE_LOCKED: 422,
  PASSCODE_REQUIRED: 422,
  WRONG_PASSWORD: 422,
  DISK_FULL: 422,
  BACKUP_INCOMPLETE: 422,
  BACKUP_CORRUPT: 422,
  HARD_LINKS_UNSUPPORTED: 422,
  FILE_ACCESS: 422,
  BACKUP_FOLDER_UNSUITABLE: 422,
  CANCELLED: 422,
  USBMUXD_UNREACHABLE: 503,
};

export function statusOf(err: unknown): ContentfulStatusCode {
  return isIbackupError(err) ? (STATUS[err.code] ?? 500) : 500;
}

/** What the page shows; anything but an IbackupError becomes INTERNAL (logged, never sent). */
export function errorView(err: unknown, log?: Log): ErrorView {
  if (isIbackupError(err)) {
    const view = err.toJSON();
    return { ...view, remedy: forThePage(view.remedy) };
  }
  log?.(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return new IbackupError('INTERNAL').toJSON();
}

/**
 * Remedies are written for the command line; on the page "run ibackup pair" is the Trust button,
 * and another backup folder is chosen with Change… on the device page.
 */
export function forThePage(remedy: string): string {
  return remedy
    .replace(/run "ibackup pair" again/gi, 'press Trust again')
    .replace(/Run "ibackup pair"/g, 'Press Trust')
    .replace(/with --backup-dir/g, 'with Change… beside the backup folder on the device page')
    .replace(/Run the command again/g, 'Try again');
}

export function apiError(err: unknown, log?: Log): ApiError {
  return { error: errorView(err, log) };
}

/** A 400 naming the field that is wrong. */
export function badField(field: string, what: string): IbackupError {
  return new IbackupError('USAGE', {
    message: `The field "${field}" ${what}.`,
    remedy: 'Reload the page and try again; if it keeps happening, please report it.',
    details: { field },
  });
}
