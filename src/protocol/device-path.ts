/**
 * Device paths as DeviceLink requests name them (`<UDID>/Snapshot/ab/…`): untrusted text. The
 * part of reading one that needs no file system — the checks and the normal form — lives here
 * once, for the backup store (which turns a path into a local one) and for the host (which
 * compares the paths of one request).
 */

/** Longest device path accepted. */
export const MAX_DEVICE_PATH = 4096;

/** Why a device path is refused before any look at the disk. */
export type DevicePathProblem = 'empty' | 'too long' | 'NUL byte' | 'backslash' | 'absolute' | 'parent folder';

/** A path with an empty or "." part (`a//b`, `./a`, `a/`), which must be normalised to compare. */
const UNNORMAL_PATH = /(^|\/)\.?(\/|$)/;

/** The parts of a device path, without empty and "." parts (`a//./b/` → `a`, `b`). */
export function devicePathParts(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/** The normal form of a device path (`U//a/./b/` → `U/a/b`); a path already normal comes back as is. */
export function normalDevicePath(path: string): string {
  return UNNORMAL_PATH.test(path) ? devicePathParts(path).join('/') : path;
}

const SLASH = 0x2f;
const DOT = 0x2e;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/**
 * True for a path parseDevicePath accepts that is already normal: relative, not too long, no
 * NUL or `\`, and every part neither empty, `.` nor `..` (the paths a device sends: its parts are
 * the path split at `/`). One pass over the characters, without the parts made; anything else is
 * left to parseDevicePath.
 */
export function isPlainDevicePath(path: string): boolean {
  const n = path.length;
  if (n === 0 || n > MAX_DEVICE_PATH || path.charCodeAt(0) === SLASH) return false;
  if (n > 1 && path.charCodeAt(1) === COLON && /^[A-Za-z]/.test(path)) return false; // a drive
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? SLASH : path.charCodeAt(i);
    if (c === 0 || c === BACKSLASH) return false;
    if (c !== SLASH) continue;
    const len = i - start;
    if (len === 0) return false;
    if (path.charCodeAt(start) === DOT && (len === 1 || (len === 2 && path.charCodeAt(start + 1) === DOT)))
      return false;
    start = i + 1;
  }
  return true;
}

/**
 * Checks a device path: it must be relative, not empty or too long, with no `..` part, `\` or NUL.
 * Returns its parts (as devicePathParts), or why it is refused.
 */
export function parseDevicePath(path: string): { parts: string[] } | { problem: DevicePathProblem } {
  if (typeof path !== 'string' || path.length === 0) return { problem: 'empty' };
  if (path.length > MAX_DEVICE_PATH) return { problem: 'too long' };
  if (path.includes('\0')) return { problem: 'NUL byte' };
  if (path.includes('\\')) return { problem: 'backslash' };
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return { problem: 'absolute' };
  const parts = devicePathParts(path);
  if (parts.some((p) => p === '..')) return { problem: 'parent folder' };
  return { parts };
}
