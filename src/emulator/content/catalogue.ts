/**
 * The entries of the device, kept sorted by domain then relative path (UTF-16 code-unit order) in
 * one array: lookups are binary searches, so no per-entry index objects are needed.
 */
import type { DeviceEntry, EntryKind } from './model.js';

function compare(aDomain: string, aPath: string, bDomain: string, bPath: string): number {
  if (aDomain !== bDomain) return aDomain < bDomain ? -1 : 1;
  if (aPath !== bPath) return aPath < bPath ? -1 : 1;
  return 0;
}

export interface CatalogueStats {
  entries: number;
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of all files. */
  bytes: number;
}

export class Catalogue {
  private items: DeviceEntry[] = [];

  /** Builds from unsorted entries (later duplicates replace earlier ones). */
  static from(entries: DeviceEntry[]): Catalogue {
    const c = new Catalogue();
    entries.sort((a, b) => compare(a.domain, a.relativePath, b.domain, b.relativePath));
    const out: DeviceEntry[] = [];
    for (const e of entries) {
      const last = out[out.length - 1];
      if (last !== undefined && last.domain === e.domain && last.relativePath === e.relativePath)
        out[out.length - 1] = e;
      else out.push(e);
    }
    c.items = out;
    return c;
  }

  get size(): number {
    return this.items.length;
  }

  /** Index of the entry, or -(insertion point) - 1. */
  private find(domain: string, relativePath: string): number {
    let lo = 0;
    let hi = this.items.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.items[mid] as DeviceEntry;
      const c = compare(e.domain, e.relativePath, domain, relativePath);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  get(domain: string, relativePath: string): DeviceEntry | undefined {
    const i = this.find(domain, relativePath);
    return i >= 0 ? this.items[i] : undefined;
  }

  /** Adds or replaces an entry. */
  put(entry: DeviceEntry): void {
    const i = this.find(entry.domain, entry.relativePath);
    if (i >= 0) this.items[i] = entry;
    else this.items.splice(-i - 1, 0, entry);
  }

  remove(domain: string, relativePath: string): DeviceEntry | undefined {
    const i = this.find(domain, relativePath);
    if (i < 0) return undefined;
    return this.items.splice(i, 1)[0];
  }

  /** Entry at a position of the sorted order. */
  at(index: number): DeviceEntry | undefined {
    return this.items[index];
  }

  /** All entries in order (a live view: do not change the catalogue while iterating). */
  *[Symbol.iterator](): Generator<DeviceEntry> {
    for (const e of this.items) yield e;
  }

  /** Entries of one domain whose path starts with `prefix`, in order. */
  *under(domain: string, prefix: string): Generator<DeviceEntry> {
    let i = this.find(domain, prefix);
    if (i < 0) i = -i - 1;
    for (; i < this.items.length; i++) {
      const e = this.items[i] as DeviceEntry;
      if (e.domain !== domain || !e.relativePath.startsWith(prefix)) return;
      yield e;
    }
  }

  stats(include: (e: DeviceEntry) => boolean = () => true): CatalogueStats {
    const counts: Record<EntryKind, number> = { file: 0, directory: 0, symlink: 0 };
    let bytes = 0;
    let entries = 0;
    for (const e of this.items) {
      if (!include(e)) continue;
      entries++;
      counts[e.kind]++;
      bytes += e.size;
    }
    return { entries, files: counts.file, directories: counts.directory, symlinks: counts.symlink, bytes };
  }
}
