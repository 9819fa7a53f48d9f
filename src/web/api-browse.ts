/**
 * The backup browser's routes (every one names a backup the list shows, and optionally a version
 * its history names; an encrypted backup's password comes with each request and is kept by the
 * page only, for its life):
 *   POST /api/browse/list   BrowseListRequest → BrowseListResponse
 *   POST /api/browse/file   BrowseFileRequest → the file's bytes (decrypted), as a download or for a preview
 *   POST /api/browse/extract BrowseExtractRequest → BrowseExtractResponse (written into a folder of this computer)
 */
export interface BrowseTarget {
  /** A backup as GET /api/backups lists it. */
  path: string;
  /** A version id its history names (else the backup itself). */
  version?: string;
  password?: string;
}

export interface BrowseListRequest extends BrowseTarget {
  /** Without a domain: the domains. With one: the entries of `folder` ('' for its top). */
  domain?: string;
  folder?: string;
  /** A search by name over the whole backup (instead of a folder). */
  search?: string;
  offset?: number;
}

export interface BrowseEntryView {
  domain: string;
  relativePath: string;
  name: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  /** ISO date, or null. */
  modified: string | null;
}

export interface BrowseListResponse {
  encrypted: boolean;
  domains?: { domain: string; files: number; bytes: number }[];
  entries?: BrowseEntryView[];
  total: number;
  offset: number;
  /** Milliseconds the server took for this page. */
  tookMs: number;
}

export interface BrowseFileRequest extends BrowseTarget {
  domain: string;
  relativePath: string;
  /** 'preview': inline (a plist as XML text); 'download': as an attachment. */
  as: 'preview' | 'download';
}

export interface BrowseExtractRequest extends BrowseTarget {
  domain: string;
  /** A file or folder of the domain ('' for the whole domain). */
  relativePath: string;
  /** A full folder path on this computer; what is extracted goes to `<out>/<domain>/<relativePath>`. */
  out: string;
}

export interface BrowseExtractResponse {
  out: string;
  filesWritten: number;
  bytesWritten: number;
  /** Entries not written (a missing file in the backup, a name that cannot be made). */
  skipped: number;
}
