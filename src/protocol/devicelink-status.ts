/**
 * The status codes a host answers DeviceLink file requests with (protocol.md §8.4), named once.
 * A local file error travels as the code of its errno name (as libimobiledevice maps it) and a
 * short text; whatever has no code of its own is GENERIC.
 */

export const DL_STATUS = {
  OK: 0,
  /** Any failure without a code of its own, and a request the host does not support. */
  GENERIC: -1,
  ENOENT: -6,
  EEXIST: -7,
  ENOTDIR: -8,
  EISDIR: -9,
  ELOOP: -10,
  EIO: -11,
  /** Per-file errors of a bulk request, listed in the reply's value. */
  MULTI_STATUS: -13,
  ENOSPC: -15,
} as const;

export type DlStatusCode = (typeof DL_STATUS)[keyof typeof DL_STATUS];

/** The status text sent with MULTI_STATUS. */
export const DL_MULTI_STATUS_TEXT = 'Multi status';
/** The status text of a request the host does not support (GENERIC). */
export const DL_UNSUPPORTED_TEXT = 'Operation not supported';

/** A code and, where the host words it itself, the text for an errno name. */
export interface ErrnoStatus {
  code: DlStatusCode;
  text?: string;
}

const ERRNO_STATUS: ReadonlyMap<string, ErrnoStatus> = new Map([
  ['ENOENT', { code: DL_STATUS.ENOENT, text: 'No such file or directory' }],
  ['EEXIST', { code: DL_STATUS.EEXIST, text: 'File exists' }],
  ['ENOTDIR', { code: DL_STATUS.ENOTDIR, text: 'Not a directory' }],
  ['EISDIR', { code: DL_STATUS.EISDIR, text: 'Is a directory' }],
  ['ELOOP', { code: DL_STATUS.ELOOP }],
  ['EIO', { code: DL_STATUS.EIO }],
  ['ENOSPC', { code: DL_STATUS.ENOSPC, text: 'No space left on device' }],
  // Over quota is out of space to the device.
  ['EDQUOT', { code: DL_STATUS.ENOSPC }],
]);

/** The status of an errno name (`ENOENT`…); undefined for a name without a code of its own. */
export function dlStatusOfErrno(errno: string | undefined): ErrnoStatus | undefined {
  return errno === undefined ? undefined : ERRNO_STATUS.get(errno);
}
