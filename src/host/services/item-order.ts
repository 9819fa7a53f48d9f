/**
 * When the items of one DeviceLink request (moves, removes) may be done several at a time: when no
 * path repeats and none lies inside another, their order cannot matter.
 */
/** Moves or removes done at the same time when they are independent. */
export const ITEMS_AT_ONCE = 16;

/** A path with an empty or "." part (`a//b`, `./a`, `a/`), which must be normalised to compare. */
const UNNORMAL_PATH = /(^|\/)\.?(\/|$)/;

/** True when no path repeats and none lies inside another (so the order of operations is free). */
export function independentPaths(paths: readonly string[]): boolean {
  const seen = new Set<string>();
  for (const raw of paths) {
    const p = UNNORMAL_PATH.test(raw)
      ? raw
          .split('/')
          .filter((x) => x !== '' && x !== '.')
          .join('/')
      : raw;
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

export async function inParallel<T>(items: readonly T[], width: number, op: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await op(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
