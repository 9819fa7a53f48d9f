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
