/**
 * What the device reads of the backup the computer already holds: whether its Status.plist allows
 * an incremental run, whether a file is unchanged since its recorded row, and which blobs no row
 * of the new manifest names.
 */
import { decodeMBFile } from '../../../protocol/nskeyed.js';
import type { PlistDict } from '../../../protocol/plist/index.js';
import type { DeviceEntry } from '../../content/model.js';
import type { HostFiles } from './host-files.js';
import type { PreviousRow } from './manifest-writer.js';

export function validStatusVersion(s: PlistDict): boolean {
  const v = Number(s.Version);
  return Number.isFinite(v) && v >= 2.4 && v < 4 && s.SnapshotState === 'finished';
}

export function decodeMBFileSafe(bytes: Uint8Array): ReturnType<typeof decodeMBFile> | undefined {
  try {
    return decodeMBFile(bytes);
  } catch {
    return undefined;
  }
}

/** A file is unchanged when the host's record has its size, times, mode and inode. */
export function sameFile(old: PreviousRow, e: DeviceEntry): boolean {
  if (old.flags !== 1) return false;
  const f = decodeMBFileSafe(old.file);
  if (!f) return false;
  return (
    Number(f.size) === e.size &&
    f.lastModified === e.mtime &&
    f.lastStatusChange === e.ctime &&
    f.mode === e.mode &&
    Number(f.inodeNumber) === e.inode
  );
}

/** Blobs in `<udid>/xx/` that no row of the new manifest names. */
export async function strayBlobs(files: HostFiles, udid: string, keep: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  for (const [name, entry] of await files.contentsOfDirectory(udid)) {
    if (entry.type !== 'directory' || !/^[0-9a-f]{2}$/.test(name)) continue;
    for (const [id, f] of await files.contentsOfDirectory(`${udid}/${name}`)) {
      if (f.type === 'file' && /^[0-9a-f]{40}$/.test(id) && !keep.has(id)) out.push(`${udid}/${name}/${id}`);
    }
  }
  return out;
}
