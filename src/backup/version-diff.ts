/**
 * What changed between two backups of a phone (two versions of its history): the files added,
 * changed and removed, by domain and path. A file changed when its type, size, modification
 * time, mode or link target differ — what the phone itself compares to decide what to send
 * again, so a full backup that re-sent unchanged files shows no change.
 */
import type { BackupEntry } from './browse.js';
import type { ManifestRecord } from './manifest-db.js';
import { decodeMBFile, type MBFile } from '../protocol/nskeyed.js';

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
  return sorted(out);
}

function decoded(r: ManifestRecord): MBFile | undefined {
  if (r.file === undefined) return undefined;
  try {
    return decodeMBFile(r.file);
  } catch {
    return undefined;
  }
}

function recordSignature(r: ManifestRecord, f: MBFile | undefined): string {
  return [r.flags, f?.size ?? '', f?.lastModified ?? '', f?.mode ?? '', f?.target ?? ''].join('\0');
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function item(r: ManifestRecord, f: MBFile | undefined): DiffEntry {
  return { domain: r.domain, relativePath: r.relativePath, size: r.flags === 1 ? Number(f?.size ?? 0) : 0 };
}

/**
 * The same comparison on Manifest.db records: a record equal byte for byte is unchanged without
 * being decoded (most of them between two versions); only the others are decoded and compared.
 */
export function diffRecords(older: Iterable<ManifestRecord>, newer: Iterable<ManifestRecord>): VersionDiff {
  const before = new Map<string, ManifestRecord>();
  for (const r of older) if (r.flags !== 2) before.set(`${r.domain}\0${r.relativePath}`, r);
  const out: VersionDiff = { added: [], changed: [], removed: [] };
  for (const r of newer) {
    if (r.flags === 2) continue;
    const key = `${r.domain}\0${r.relativePath}`;
    const old = before.get(key);
    before.delete(key);
    if (old !== undefined && sameBytes(old.file, r.file)) continue;
    const now = decoded(r);
    if (old === undefined) {
      out.added.push(item(r, now));
      continue;
    }
    const then = decoded(old);
    if (recordSignature(old, then) !== recordSignature(r, now)) {
      out.changed.push({ ...item(r, now), sizeBefore: item(old, then).size });
    }
  }
  for (const r of before.values()) out.removed.push(item(r, decoded(r)));
  return sorted(out);
}

function sorted(d: VersionDiff): VersionDiff {
  const order = (a: DiffEntry, b: DiffEntry): number =>
    a.domain === b.domain ? (a.relativePath < b.relativePath ? -1 : 1) : a.domain < b.domain ? -1 : 1;
  d.added.sort(order);
  d.changed.sort(order);
  d.removed.sort(order);
  return d;
}
