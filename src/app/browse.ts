/**
 * The backup browser: a backup (or a version of one) opened once — with its password when it is
 * encrypted — then its domains, grouped by app, a folder's entries a page at a time, a search by
 * name, and a file's bytes (decrypted) or a file or folder extracted into a folder of this
 * computer. The paths a caller names are looked up in the backup's own list; nothing else is read.
 */
import path from 'node:path';
import { backupFingerprint, BrowseIndex, type DomainRow, type IndexRow, type Page } from '../backup/browse-index.js';
import { IbackupError } from '../errors.js';
import { parsePlist, serializeXmlPlist } from '../protocol/plist/index.js';
import { openBackupView, type BackupEntry, type BackupView } from './backup-view.js';
import { extractFiles, type ExtractResult } from './extract.js';

export type { DomainRow, ExtractResult, IndexRow, Page };

export interface BrowseSession {
  readonly dir: string;
  readonly encrypted: boolean;
  /** Milliseconds it took to open (unlock and index). */
  readonly openMs: number;
  domains(): DomainRow[];
  children(domain: string, folder: string, offset: number, limit: number): Page<IndexRow>;
  search(text: string, offset: number, limit: number): Page<IndexRow>;
  /** A regular file's plaintext, chunk by chunk (404 for anything the backup does not list as a file). */
  read(domain: string, relativePath: string): { size: number; chunks: AsyncGenerator<Uint8Array> };
  /**
   * Writes a file or a folder (every entry under it; a whole domain for '') into `out` as
   * `<out>/<domain>/<relativePath>`, decrypted, as `files extract` writes them.
   */
  extract(domain: string, relativePath: string, out: string): Promise<ExtractResult>;
  /** The backup is as it was when opened (not backed up again since). */
  isCurrent(): boolean;
  close(): void;
}

export interface OpenBrowseOptions {
  /** The password of an encrypted backup. */
  password?: string;
  /** Where plain backups' indexes are kept (a private folder in ibackup's own folder). */
  cacheDir: string;
}

/**
 * A domain or a path inside a backup as a request names it: no NUL, not absolute, no `..` or `.`
 * segment, no backslash (the rules of `files extract`); USAGE otherwise.
 */
export function checkBackupPath(what: string, value: string, allowEmpty: boolean): string {
  const bad = (why: string): IbackupError =>
    new IbackupError('USAGE', {
      message: `The ${what} ${why}.`,
      remedy: 'Choose the file in the list instead of typing its path.',
      details: { field: what },
    });
  if (value === '' && allowEmpty) return value;
  if (value === '') throw bad('is empty');
  if (value.includes('\0')) throw bad('contains a NUL character');
  if (value.includes('\\')) throw bad('contains a backslash');
  if (value.startsWith('/') || path.win32.isAbsolute(value)) throw bad('is absolute');
  if (value.split('/').some((s) => s === '..' || s === '.' || s === '')) throw bad('has an empty, "." or ".." part');
  return value;
}

function notListed(domain: string, relativePath: string): IbackupError {
  return new IbackupError('NOT_FOUND', {
    message: `The backup has no file ${domain}/${relativePath}.`,
    remedy: 'Reload the list and choose the file again.',
  });
}

function reader(view: BackupView) {
  return (domain: string, relativePath: string): { size: number; chunks: AsyncGenerator<Uint8Array> } => {
    checkBackupPath('domain', domain, false);
    checkBackupPath('path', relativePath, false);
    const entry = view.entry(domain, relativePath);
    if (entry === undefined || entry.type !== 'file') throw notListed(domain, relativePath);
    return { size: entry.size, chunks: view.chunks(entry) };
  };
}

function extractPart(view: BackupView, domain: string, relativePath: string, out: string): Promise<ExtractResult> {
  checkBackupPath('domain', domain, false);
  checkBackupPath('path', relativePath, true);
  const inside = (e: BackupEntry): boolean =>
    e.domain === domain &&
    (relativePath === '' || e.relativePath === relativePath || e.relativePath.startsWith(`${relativePath}/`));
  const part: BackupView = {
    ...view,
    *entries() {
      for (const e of view.entries()) if (inside(e)) yield e;
    },
  };
  return extractFiles(part, { out });
}

/** Opens `dir` for browsing: unlocks it (encrypted) and opens or builds its index. */
export async function openBrowse(dir: string, opts: OpenBrowseOptions): Promise<BrowseSession> {
  const started = Date.now();
  const password = opts.password;
  const opened = backupFingerprint(dir);
  const view = await openBackupView(dir, {
    useCache: false,
    ...(password === undefined ? {} : { password: () => Promise.resolve(password) }),
  });
  let index: BrowseIndex;
  try {
    index = BrowseIndex.open(view, opts.cacheDir);
  } catch (err) {
    view.close();
    throw err;
  }
  return {
    dir,
    encrypted: view.encrypted,
    openMs: Date.now() - started,
    domains: () => index.domains(),
    children: (domain, folder, offset, limit) =>
      index.children(checkBackupPath('domain', domain, false), checkBackupPath('folder', folder, true), offset, limit),
    search: (text, offset, limit) => index.search(text, offset, limit),
    read: reader(view),
    extract: (domain, relativePath, out) => extractPart(view, domain, relativePath, out),
    isCurrent: () => backupFingerprint(dir) === opened,
    close: () => {
      index.close();
      view.close();
    },
  };
}

/** A plist file (binary or XML) as XML text for a preview, or null when it is not a plist. */
export function plistAsText(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder().decode(serializeXmlPlist(parsePlist(bytes)));
  } catch {
    return null;
  }
}
