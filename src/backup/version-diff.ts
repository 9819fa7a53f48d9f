/**
 * What changed between two backups of a phone (two versions of its history): the files added,
 * changed and removed, by domain and path. A file changed when its type, size, modification
 * time, mode or link target differ — what the phone itself compares to decide what to send
 * again, so a full backup that re-sent unchanged files shows no change.
 */
import type { BackupEntry } from './browse.js';

export interface DiffEntry {
  domain: string;
  relativePath: string;
  /** Size in the newer backup (in the older one for a removed file). */
  size: number;
  /** For a changed file: its size before. */
  sizeBefore?: number;
}

export interface VersionDiff {
  added: DiffEntry[];
  changed: DiffEntry[];
  removed: DiffEntry[];
}

function keyOf(e: BackupEntry): string {
  return `${e.domain}\0${e.relativePath}`;
}

function signature(e: BackupEntry): string {
  return [e.type, e.size, e.mtime?.getTime() ?? '', e.mode ?? '', e.target ?? ''].join('\0');
}

/** Compares the entries of an older and a newer backup (regular files and links; folders are left out). */
export function diffEntries(older: Iterable<BackupEntry>, newer: Iterable<BackupEntry>): VersionDiff {
  const before = new Map<string, BackupEntry>();
  for (const e of older) if (e.type !== 'directory') before.set(keyOf(e), e);
  const out: VersionDiff = { added: [], changed: [], removed: [] };
  for (const e of newer) {
    if (e.type === 'directory') continue;
    const key = keyOf(e);
    const old = before.get(key);
    before.delete(key);
    const item = { domain: e.domain, relativePath: e.relativePath, size: e.size };
    if (old === undefined) out.added.push(item);
    else if (signature(old) !== signature(e)) out.changed.push({ ...item, sizeBefore: old.size });
  }
  for (const e of before.values()) out.removed.push({ domain: e.domain, relativePath: e.relativePath, size: e.size });
  const order = (a: DiffEntry, b: DiffEntry): number =>
    a.domain === b.domain ? (a.relativePath < b.relativePath ? -1 : 1) : a.domain < b.domain ? -1 : 1;
  out.added.sort(order);
  out.changed.sort(order);
  out.removed.sort(order);
  return out;
}
