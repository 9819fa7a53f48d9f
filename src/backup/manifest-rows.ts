/**
 * Rows of Manifest.db's `Files` table (backup-format.md §5.1–§5.4) as typed values: kind from
 * `flags`, the decoded MBFile, the blob path, plus the checks a reader makes on untrusted rows
 * (fileID = SHA-1 of "<domain>-<relativePath>", safe relative paths) and the glob matcher used to
 * select files.
 */
import path from 'node:path';
import { isIbackupError } from '../errors.js';
import { FLAG_DIRECTORY, FLAG_FILE, FLAG_SYMLINK } from '../protocol/manifest-flags.js';
import { decodeMBFile } from '../protocol/nskeyed.js';
import type { MBFile } from '../protocol/nskeyed.js';

export { FLAG_DIRECTORY, FLAG_FILE, FLAG_SYMLINK };

export type FileKind = 'file' | 'directory' | 'symlink' | 'unknown';

export interface ManifestRow {
  fileID: string;
  domain: string;
  relativePath: string;
  /** 1 file, 2 directory, 4 symlink; anything else is kept and reported as kind "unknown". */
  flags: number;
  kind: FileKind;
  /** The decoded `file` column, when it could be decoded. */
  file?: MBFile;
  /** Why the `file` column could not be decoded (the row is still returned). */
  fileError?: string;
  /** Where the blob of a regular file lives: `<backup>/<fileID[0:2]>/<fileID>`; only for a well-formed fileID. */
  blobPath?: string;
  /** Column values of the wrong SQL type, described (a damaged or hostile database). */
  columnProblems?: string[];
}

/** The columns as better-sqlite3 returns them; any type is possible in a hostile file. */
export interface RawFilesRow {
  fileID: unknown;
  domain: unknown;
  relativePath: unknown;
  flags: unknown;
  file: unknown;
}

const FILE_ID = /^[0-9a-f]{40}$/;

/** The fileID a row of `<domain>` and `<relativePath>` must have (§5.2). */
export { fileIdOf as expectedFileID } from '../protocol/crypto.js';

/** 40 lower-case hex characters: the only form ever turned into a path. */
export function isWellFormedFileID(id: string): boolean {
  return FILE_ID.test(id);
}

/** `<backupDir>/<fileID[0:2]>/<fileID>`, or undefined for a fileID that is not 40 lower-case hex. */
export function blobPathOf(backupDir: string, fileID: string): string | undefined {
  if (!isWellFormedFileID(fileID)) return undefined;
  return path.join(backupDir, fileID.slice(0, 2), fileID);
}

export function kindOfFlags(flags: number): FileKind {
  if (flags === FLAG_FILE) return 'file';
  if (flags === FLAG_DIRECTORY) return 'directory';
  if (flags === FLAG_SYMLINK) return 'symlink';
  return 'unknown';
}

/**
 * Why a relative path is unsafe to turn into a local path ("" for a domain root is fine), or
 * undefined when it is safe: absolute, a ".." segment, a NUL, a backslash or a drive letter.
 */
export function unsafeRelativePathReason(p: string): string | undefined {
  if (p.includes('\0')) return 'contains a NUL character';
  if (p.startsWith('/')) return 'is absolute';
  if (p.includes('\\')) return 'contains a backslash';
  if (/^[A-Za-z]:/.test(p)) return 'starts with a drive letter';
  if (p.split('/').some((seg) => seg === '..')) return 'contains a ".." segment';
  return undefined;
}

function textColumn(v: unknown, name: string, problems: string[]): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) {
    problems.push(`${name} is a BLOB, not TEXT`);
    return new TextDecoder().decode(v);
  }
  if (v === null || v === undefined) {
    problems.push(`${name} is NULL`);
    return '';
  }
  problems.push(`${name} is a ${typeof v}, not TEXT`);
  return String(v);
}

function flagsColumn(v: unknown, problems: string[]): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  problems.push(`flags is ${v === null ? 'NULL' : `a ${typeof v}`}, not an INTEGER`);
  return 0;
}

/** Turns one raw `Files` row into a ManifestRow; never throws. */
export function toManifestRow(raw: RawFilesRow, backupDir: string | undefined): ManifestRow {
  const problems: string[] = [];
  const fileID = textColumn(raw.fileID, 'fileID', problems);
  const domain = textColumn(raw.domain, 'domain', problems);
  const relativePath = textColumn(raw.relativePath, 'relativePath', problems);
  const flags = flagsColumn(raw.flags, problems);
  const row: ManifestRow = { fileID, domain, relativePath, flags, kind: kindOfFlags(flags) };
  if (raw.file instanceof Uint8Array) {
    try {
      row.file = decodeMBFile(raw.file);
    } catch (err) {
      row.fileError = isIbackupError(err) ? err.message : 'the file record could not be decoded';
    }
  } else {
    row.fileError =
      raw.file === null || raw.file === undefined ? 'the file record is missing' : 'the file record is not a BLOB';
  }
  if (backupDir !== undefined) {
    const blob = blobPathOf(backupDir, fileID);
    if (blob !== undefined) row.blobPath = blob;
  }
  if (problems.length > 0) row.columnProblems = problems;
  return row;
}

/**
 * A case-sensitive glob as a RegExp: `*` any run of characters except "/", `**` any run
 * including "/", `?` one character except "/", `[abc]` / `[!abc]` / `[a-z]` a class, `\x` a
 * literal x. The whole string must match.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        // "**/" also matches nothing, so "a/**/b" matches "a/b".
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < glob.length) re += escapeRe(glob[++i] as string);
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        const negate = body.startsWith('!') || body.startsWith('^');
        if (negate) body = body.slice(1);
        body = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
        re += negate ? `[^/${body}]` : `[${body}]`;
        i = end;
      }
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, (m) => `\\${m}`);
}

/** The literal part of a glob before its first special character. */
export function globLiteralPrefix(glob: string): string {
  const at = glob.search(/[*?[\\]/);
  return at === -1 ? glob : glob.slice(0, at);
}
