/**
 * What this computer has of usbmuxd, for the doctor's advice: whether a usbmuxd program is
 * installed (where Linux distributions put it) and which Linux distribution this is
 * (/etc/os-release).
 */
import { existsSync, readFileSync } from 'node:fs';

const USBMUXD_PROGRAMS = [
  '/usr/sbin/usbmuxd',
  '/usr/bin/usbmuxd',
  '/sbin/usbmuxd',
  '/usr/local/sbin/usbmuxd',
  '/usr/local/bin/usbmuxd',
];

/** Paths where Linux distributions install usbmuxd. */
export function usbmuxdProgramPaths(): readonly string[] {
  return USBMUXD_PROGRAMS;
}

/** True when a usbmuxd program is installed at one of those paths. */
export function usbmuxdInstalled(): boolean {
  return USBMUXD_PROGRAMS.some((p) => existsSync(p));
}

/** Contents of /etc/os-release ('' when it cannot be read). */
export function readOsRelease(): string {
  try {
    return readFileSync('/etc/os-release', 'utf8');
  } catch {
    return '';
  }
}
