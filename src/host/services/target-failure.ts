/**
 * How a failure of the backup target is told to the device: a DeviceLink status code from
 * protocol/'s table and a short text. The target (the backup store) fails with errno errors
 * (ENOENT, ENOSPC…) or with an IbackupError (a path it refused as unsafe…); the mapping is decided
 * by the error's errno name or its kind, never by its text.
 */
import { isIbackupError } from '../../errors.js';
import { DL_STATUS, dlStatusOfErrno } from '../../protocol/devicelink-status.js';

/** A DeviceLink status to reply with. */
export interface DlFailure {
  code: number;
  text: string;
}

/**
 * The status for a failed file operation: an IbackupError is GENERIC with its own message; an
 * errno error gets its name's code (GENERIC when it has none) and its text, or the error's message.
 */
export function targetFailure(err: unknown): DlFailure {
  if (isIbackupError(err)) return { code: DL_STATUS.GENERIC, text: err.message };
  const e = err as NodeJS.ErrnoException | undefined;
  const known = dlStatusOfErrno(e?.code);
  return { code: known?.code ?? DL_STATUS.GENERIC, text: known?.text ?? e?.message ?? String(err) };
}
