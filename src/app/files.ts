/**
 * `files ls|extract|cat`: browsing a backup's contents. Listing gives one entry per Manifest row
 * (directories and links included) with whether the file's blob is present; extraction writes
 * `<out>/<domain>/<relativePath>` through `safeEntrySegments`, never outside `out`, streaming
 * each file (decrypted on the fly) to a temp name and renaming it; `findOne` is `cat`'s lookup.
 */
import { blobPresent, toWarning, type FilesWarning } from '../backup/browse.js';
import { IbackupError } from '../errors.js';
import type { BackupEntry, BackupView, EntryFilter } from './backup-view.js';

export type { FilesWarning } from '../backup/browse.js';

export interface FileListing {
  domain: string;
  relativePath: string;
  fileID: string;
  type: 'file' | 'directory' | 'symlink' | 'unknown';
  size: number;
  mode: number | null;
  /** ISO date of the last modification, when recorded. */
  mtime: string | null;
  protectionClass: number | null;
  target?: string;
  /** For a regular file: its blob is in the backup. Always false for directories and links (they have none). */
  blobPresent: boolean;
  /** Why the row is damaged, when it is. */
  problem?: string;
}

export interface ListFilesResult {
  files: FileListing[];
  warnings: FilesWarning[];
  counts: {
    entries: number;
    files: number;
    directories: number;
    symlinks: number;
    other: number;
    bytes: number;
    blobsMissing: number;
  };
}

export function listing(e: BackupEntry): FileListing {
  return {
    domain: e.domain,
    relativePath: e.relativePath,
    fileID: e.fileID,
    type: e.type,
    size: e.size,
    mode: e.mode,
    mtime: e.mtime === null || Number.isNaN(e.mtime.getTime()) ? null : e.mtime.toISOString(),
    protectionClass: e.protectionClass,
    ...(e.target === undefined ? {} : { target: e.target }),
    blobPresent: blobPresent(e),
    ...(e.problem === undefined ? {} : { problem: e.problem }),
  };
}

/** Every entry matching the filter, with the backup's warnings (and one for missing blobs). */
export function listFiles(view: BackupView, filter: EntryFilter = {}): ListFilesResult {
  const files: FileListing[] = [];
  const counts = { entries: 0, files: 0, directories: 0, symlinks: 0, other: 0, bytes: 0, blobsMissing: 0 };
  for (const e of view.entries(filter)) {
    const l = listing(e);
    files.push(l);
    counts.entries++;
    if (l.type === 'file') {
      counts.files++;
      counts.bytes += l.size;
      if (!l.blobPresent) counts.blobsMissing++;
    } else if (l.type === 'directory') counts.directories++;
    else if (l.type === 'symlink') counts.symlinks++;
    else counts.other++;
  }
  const warnings = view.warnings.map(toWarning);
  if (counts.blobsMissing > 0) {
    warnings.push({
      code: 'BLOB_MISSING',
      message: `${counts.blobsMissing} of ${counts.files} files listed have no data in the backup (blobPresent: false); they cannot be extracted.`,
    });
  }
  const damaged = files.filter((f) => f.problem !== undefined).length;
  if (damaged > 0)
    warnings.push({ code: 'BAD_MBFILE', message: `${damaged} entries have a damaged record (see "problem").` });
  if (counts.other > 0)
    warnings.push({
      code: 'BAD_FLAGS',
      message: `${counts.other} entries are neither a file, a folder nor a link (type "unknown").`,
    });
  return { files, warnings, counts };
}

/** The one regular file a pattern names (`cat`): USAGE listing the matches when there are none or several. */
export function findOne(view: BackupView, filter: EntryFilter): BackupEntry {
  const files: BackupEntry[] = [];
  const others: BackupEntry[] = [];
  for (const e of view.entries(filter)) (e.type === 'file' ? files : others).push(e);
  const name = (e: BackupEntry): string => `${e.domain}/${e.relativePath}`;
  if (files.length === 1) return files[0] as BackupEntry;
  const what = filter.pattern === undefined ? 'The selection' : `"${filter.pattern}"`;
  if (files.length === 0) {
    const hint =
      others.length === 0
        ? ''
        : ` It matches only ${others.length === 1 ? `a ${others[0]?.type}: ${name(others[0] as BackupEntry)}` : `${others.length} folders or links`}.`;
    throw new IbackupError('USAGE', {
      message: `${what} matches no file in the backup.${hint}`,
      remedy:
        'List the files with "ibackup files ls BACKUP [PATTERN]" and give a pattern that matches exactly one file.',
      details: { matches: others.slice(0, 50).map(name) },
    });
  }
  const shown = files.slice(0, 20).map((e) => `  ${name(e)}`);
  if (files.length > 20) shown.push(`  … and ${files.length - 20} more`);
  throw new IbackupError('USAGE', {
    message: `${what} matches ${files.length} files; "cat" needs exactly one:\n${shown.join('\n')}`,
    remedy: 'Give a pattern (or --domain) that matches exactly one file, or use "ibackup files extract".',
    details: { matches: files.slice(0, 200).map(name) },
  });
}
