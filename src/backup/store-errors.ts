/** How a store failure is told to the device: a DeviceLink status code and a short text. */
import { IbackupError } from '../errors.js';

/** A device path the store refused (outside the device's folder, through a link…). */
export class UnsafePathError extends IbackupError {}

/** errno → DeviceLink status code (protocol.md §8.4). */
export function deviceLinkCode(err: unknown): number {
  if (err instanceof UnsafePathError) return -1;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return -6;
    case 'EEXIST':
      return -7;
    case 'ENOTDIR':
      return -8;
    case 'EISDIR':
      return -9;
    case 'ELOOP':
      return -10;
    case 'EIO':
      return -11;
    case 'ENOSPC':
    case 'EDQUOT':
      return -15;
    default:
      return -1;
  }
}

export function errorText(err: unknown): string {
  if (err instanceof IbackupError) return err.message;
  const e = err as NodeJS.ErrnoException | undefined;
  switch (e?.code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'ENOSPC':
      return 'No space left on device';
    case 'EEXIST':
      return 'File exists';
    case 'ENOTDIR':
      return 'Not a directory';
    case 'EISDIR':
      return 'Is a directory';
    default:
      return e?.message ?? String(err);
  }
}
