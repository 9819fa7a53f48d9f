/**
 * The mutable state behind a device's content and the factories of its entries (files,
 * directories, symbolic links) with plausible owners, modes, times and inode numbers.
 */
import type { ContentSpec } from '../profile-types.js';
import type { Catalogue } from './catalogue.js';
import type { DatabaseSizes } from './databases.js';
import { fileProtectionClass, ownerOf } from './domains.js';
import { CONTENT_NOW, EMPTY_XATTRS, S_IFDIR, S_IFLNK, S_IFREG, type ContentSource, type DeviceEntry } from './model.js';
import type { IcloudPhotos, LibraryRecord } from './photo-library.js';
import { rngFor } from './random.js';

/** Rebuilds the bytes of a blob entry for a version. */
export interface BlobBuilder {
  build(version: number): Uint8Array;
  modifiable: boolean;
}

export interface ContentState {
  seed: number;
  spec: ContentSpec;
  /** Long side of generated photos, in pixels. */
  maxSide: number;
  sizes: DatabaseSizes;
  /** The iOS major version the personal databases are laid out for. */
  major: number;
  catalogue: Catalogue;
  /** Current bytes of every `blob` entry, by entryKey. */
  blobs: Map<string, Uint8Array>;
  builders: Map<string, BlobBuilder>;
  /** Override-store id (SHA-1 hex) of every `override` entry, by entryKey. */
  overrideIds: Map<string, string>;
  nextInode: number;
  /** Number the next camera-roll item gets. */
  nextPhoto: number;
  /** The device's "now" in Unix seconds: advances with each mutation, never with the wall clock. */
  clock: number;
  /** Counter naming the files "add" creates. */
  addedFiles: number;
  /** The photo library's assets by camera-roll number (photo-library.ts). */
  library: Map<number, LibraryRecord>;
  /** iCloud Photos: off, on keeping originals, or on optimising storage. */
  icloud: IcloudPhotos;
}

export interface FileOptions {
  size: number;
  source: ContentSource;
  version?: number;
  mode?: number;
  uid?: number;
  protectionClass?: number;
  flags?: number;
  xattrs?: Readonly<Record<string, Uint8Array>>;
  encryptedOnly?: boolean;
  /** Unix seconds; chosen from the seed when absent. */
  birth?: number;
  mtime?: number;
  ctime?: number;
}

function seededTimes(seed: number, domain: string, relativePath: string): { birth: number; mtime: number } {
  const rng = rngFor(seed, 'times', domain, relativePath);
  const birth = CONTENT_NOW - rng.int(86_400, 2 * 365 * 86_400);
  return { birth, mtime: birth + rng.int(0, CONTENT_NOW - birth) };
}

export function isEncryptedOnlyDomain(domain: string): boolean {
  return domain === 'HealthDomain';
}

export function makeFile(st: ContentState, domain: string, relativePath: string, o: FileOptions): DeviceEntry {
  const rng = rngFor(st.seed, 'meta', domain, relativePath);
  const owner = o.uid ?? ownerOf(domain);
  const times = o.birth === undefined || o.mtime === undefined ? seededTimes(st.seed, domain, relativePath) : undefined;
  const birth = o.birth ?? times?.birth ?? CONTENT_NOW;
  const mtime = o.mtime ?? times?.mtime ?? birth;
  const privateFile = domain === 'HealthDomain' || domain === 'KeychainDomain' || rng.chance(0.1);
  return {
    domain,
    relativePath,
    kind: 'file',
    size: o.size,
    mode: o.mode === undefined ? S_IFREG | (privateFile ? 0o600 : 0o644) : S_IFREG | (o.mode & 0o7777),
    uid: owner,
    gid: owner,
    inode: st.nextInode++,
    mtime,
    ctime: o.ctime ?? mtime,
    birth,
    protectionClass: o.protectionClass ?? fileProtectionClass(domain, rng),
    flags: o.flags ?? 0,
    extendedAttributes: o.xattrs ?? EMPTY_XATTRS,
    target: undefined,
    source: o.source,
    version: o.version ?? 0,
    encryptedOnly: o.encryptedOnly ?? isEncryptedOnlyDomain(domain),
  };
}

export interface NodeOptions {
  mode?: number;
  uid?: number;
  gid?: number;
  protectionClass?: number;
  flags?: number;
  xattrs?: Readonly<Record<string, Uint8Array>>;
  birth?: number;
  mtime?: number;
  ctime?: number;
}

function makeNode(
  st: ContentState,
  domain: string,
  relativePath: string,
  kind: 'directory' | 'symlink',
  o: NodeOptions,
  target?: string,
): DeviceEntry {
  const owner = ownerOf(domain);
  const times = seededTimes(st.seed, domain, `${relativePath}/`);
  const privateDir = domain === 'HealthDomain' || domain === 'KeychainDomain';
  const perms = o.mode === undefined ? (kind === 'symlink' ? 0o755 : privateDir ? 0o700 : 0o755) : o.mode & 0o7777;
  const mtime = o.mtime ?? times.mtime;
  return {
    domain,
    relativePath,
    kind,
    size: 0,
    mode: (kind === 'directory' ? S_IFDIR : S_IFLNK) | perms,
    uid: o.uid ?? owner,
    gid: o.gid ?? o.uid ?? owner,
    inode: st.nextInode++,
    mtime,
    ctime: o.ctime ?? mtime,
    birth: o.birth ?? times.birth,
    protectionClass: o.protectionClass ?? 0,
    flags: o.flags ?? 0,
    extendedAttributes: o.xattrs ?? EMPTY_XATTRS,
    target,
    source: 'none',
    version: 0,
    encryptedOnly: isEncryptedOnlyDomain(domain),
  };
}

export function makeDirectory(
  st: ContentState,
  domain: string,
  relativePath: string,
  o: NodeOptions = {},
): DeviceEntry {
  return makeNode(st, domain, relativePath, 'directory', o);
}

export function makeSymlink(
  st: ContentState,
  domain: string,
  relativePath: string,
  target: string,
  o: NodeOptions = {},
): DeviceEntry {
  return makeNode(st, domain, relativePath, 'symlink', o, target);
}

/** Parent directories of a path, outermost first, the domain root ('') included. */
export function parentsOf(relativePath: string): string[] {
  const out = [''];
  let at = relativePath.indexOf('/');
  while (at > 0) {
    out.push(relativePath.slice(0, at));
    at = relativePath.indexOf('/', at + 1);
  }
  return out;
}

/** A copy of an entry with some fields changed. */
export function withChanges(e: DeviceEntry, changes: Partial<DeviceEntry>): DeviceEntry {
  return { ...e, ...changes };
}
