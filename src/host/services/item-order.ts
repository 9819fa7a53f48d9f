/**
 * When the items of one DeviceLink request (moves, removes) may be done several at a time: when no
 * path repeats and none lies inside another, their order cannot matter. Paths are compared in
 * protocol/'s normal form, the same parsing the backup store applies.
 */
import { normalDevicePath } from '../../protocol/device-path.js';

/** Moves or removes done at the same time when they are independent. */
export const ITEMS_AT_ONCE = 16;

/** True when no path repeats and none lies inside another (so the order of operations is free). */
export function independentPaths(paths: readonly string[]): boolean {
  const seen = new Set<string>();
  for (const raw of paths) {
    const p = normalDevicePath(raw);
    if (seen.has(p)) return false;
    seen.add(p);
  }
  // Each folder above a path is checked once, however many paths share it.
  const folders = new Set<string>();
  for (const p of seen) {
    for (let i = p.lastIndexOf('/'); i > 0;) {
      const dir = p.slice(0, i);
      if (folders.has(dir)) break;
      if (seen.has(dir)) return false;
      folders.add(dir);
      i = dir.lastIndexOf('/');
    }
  }
  return true;
}
