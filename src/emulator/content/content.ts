/**
 * A virtual iPhone's content: the catalogue a backup walks, the bytes of each file on demand,
 * changes between backups, and bytes a restore writes. Changes are journaled so the content
 * survives a restart: build from the same spec, then `applyMutations(saved journal)`.
 */
import { IbackupError } from '../../errors.js';
import type { ContentSpec } from '../profile-types.js';
import type { CatalogueStats } from './catalogue.js';
import { makeFile, makeDirectory as newDirectory, makeSymlink as newSymlink, type ContentState } from './entries.js';
import { CAMERA_DOMAIN } from './camera.js';
import { generateContent } from './generate.js';
import { decodeMeta, encodeMeta, parseJournal } from './journal.js';
import {
  MUTATION_ACTIONS,
  entryKey,
  type DeviceEntry,
  type JournalOp,
  type MutationAction,
  type MutationJournal,
  type MutationSummary,
  type WriteMeta,
} from './model.js';
import { ensureParents, forget, mutate } from './mutate.js';
import { backupCarries } from './photo-library.js';
import { ContentReader, type ReadOptions } from './reader.js';
import { memoryOverrideStore, type OverrideStore } from './store.js';

export interface ContentOptions {
  /** Where restored bytes go (default: memory). */
  overrides?: OverrideStore;
  /** The phone's iOS version ("17.5.1"): the layout of its personal databases (default iOS 17). */
  iosVersion?: string;
}

export interface EntryFilter {
  /** Include what only encrypted backups carry (default true). */
  encrypted?: boolean;
}

/** Largest restored file kept inline in a journal when the override store is not persistent. */
const MAX_INLINE = 64 << 20;

function usage(message: string): IbackupError {
  return new IbackupError('USAGE', {
    message,
    remedy: 'Use add, modify, delete, photos or messages with a count from 0 to 1000000.',
  });
}

function checkPath(relativePath: string): string {
  const p = relativePath.normalize('NFC');
  if (p.startsWith('/') || p.split('/').some((s) => s === '..' || s === '.') || p.includes('\u0000')) {
    throw new IbackupError('UNSAFE_PATH', {
      message: `"${relativePath}" is not a safe path inside a domain.`,
      details: { relativePath },
    });
  }
  return p;
}

export class DeviceContent {
  private readonly ops: JournalOp[] = [];
  private readonly reader: ContentReader;

  private constructor(
    private readonly st: ContentState,
    private readonly overrides: OverrideStore,
  ) {
    this.reader = new ContentReader(st, overrides);
  }

  static build(spec: ContentSpec, options: ContentOptions = {}): DeviceContent {
    const major = options.iosVersion === undefined ? undefined : Number(options.iosVersion.split('.')[0]);
    return new DeviceContent(
      generateContent(spec, major !== undefined && Number.isFinite(major) ? major : undefined),
      options.overrides ?? memoryOverrideStore(),
    );
  }

  get spec(): ContentSpec {
    return this.st.spec;
  }

  /** Whether a computer backup carries this entry (the camera roll stays out while iCloud Photos is on). */
  inBackup(e: DeviceEntry): boolean {
    return e.domain !== CAMERA_DOMAIN || backupCarries(this.st.icloud, e.relativePath);
  }

  /** The device's current time (Unix seconds), advanced by each mutation. */
  get now(): number {
    return this.st.clock;
  }

  /** Every entry, sorted by domain then relative path. */
  *entries(filter: EntryFilter = {}): Generator<DeviceEntry> {
    const all = filter.encrypted ?? true;
    for (const e of this.st.catalogue) if (all || !e.encryptedOnly) yield e;
  }

  /** Entries of one domain under a path prefix (e.g. "Media/DCIM/"), sorted. */
  under(domain: string, prefix = ''): Generator<DeviceEntry> {
    return this.st.catalogue.under(domain, prefix);
  }

  get(domain: string, relativePath: string): DeviceEntry | undefined {
    return this.st.catalogue.get(domain, relativePath.normalize('NFC'));
  }

  stats(filter: EntryFilter = {}): CatalogueStats {
    const all = filter.encrypted ?? true;
    return this.st.catalogue.stats(all ? undefined : (e) => !e.encryptedOnly);
  }

  /** Bytes of all files. */
  totalSize(filter: EntryFilter = {}): number {
    return this.stats(filter).bytes;
  }

  openContent(entry: DeviceEntry, options: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    return this.reader.open(entry, options);
  }

  /** A file's chunks without a promise per chunk where its bytes are made in memory (most files). */
  chunks(entry: DeviceEntry): Iterable<Uint8Array> | AsyncIterable<Uint8Array> {
    return this.reader.openInMemory(entry) ?? this.reader.open(entry);
  }

  read(entry: DeviceEntry, offset: number, length: number): Promise<Uint8Array> {
    return this.reader.read(entry, offset, length);
  }

  /** SHA-1 of a file's bytes (computed once by streaming). */
  digest(entry: DeviceEntry): Promise<Uint8Array> {
    return this.reader.digest(entry);
  }

  mutate(action: MutationAction, n: number): MutationSummary {
    if (!MUTATION_ACTIONS.includes(action)) throw usage(`Unknown change "${String(action)}".`);
    if (!Number.isSafeInteger(n) || n < 0 || n > 1_000_000) throw usage(`${n} is not a count of changes.`);
    const summary = mutate(this.st, action, n, this.ops.length);
    this.ops.push({ op: action, n });
    return summary;
  }

  /** Puts a file onto the device (a restore); it replaces any generated file of that path. */
  async writeFile(
    domain: string,
    relativePath: string,
    data: Uint8Array | AsyncIterable<Uint8Array>,
    meta: WriteMeta = {},
  ): Promise<DeviceEntry> {
    const path = checkPath(relativePath);
    const { id, size } = await this.overrides.put(data);
    const inline = !this.overrides.persistent && size <= MAX_INLINE ? await this.inlineBytes(id, size) : undefined;
    this.ops.push({
      op: 'write',
      domain,
      relativePath: path,
      kind: 'file',
      meta: encodeMeta(meta),
      sha1: id,
      size,
      ...(inline === undefined ? {} : { data: inline }),
    });
    return this.placeFile(domain, path, id, size, meta);
  }

  private async inlineBytes(id: string, size: number): Promise<string> {
    const parts: Buffer[] = [];
    for await (const chunk of this.overrides.stream(id, 0, size, 1 << 20)) parts.push(Buffer.from(chunk));
    return Buffer.concat(parts).toString('base64');
  }

  private placeFile(domain: string, path: string, id: string, size: number, meta: WriteMeta): DeviceEntry {
    this.replaceable(domain, path);
    ensureParents(this.st, domain, path);
    forget(this.st, domain, path);
    const entry = makeFile(this.st, domain, path, {
      size,
      source: 'override',
      mode: meta.mode,
      uid: meta.uid,
      protectionClass: meta.protectionClass,
      flags: meta.flags,
      xattrs: meta.extendedAttributes,
      birth: meta.birth ?? this.st.clock,
      mtime: meta.mtime ?? this.st.clock,
      ctime: meta.ctime,
    });
    const placed = meta.gid === undefined ? entry : { ...entry, gid: meta.gid };
    this.st.overrideIds.set(entryKey(domain, path), id);
    this.st.catalogue.put(placed);
    return placed;
  }

  private replaceable(domain: string, path: string): void {
    const old = this.st.catalogue.get(domain, path);
    if (old?.kind === 'directory' && path !== '') this.removeTree(domain, path);
  }

  makeDirectory(domain: string, relativePath: string, meta: WriteMeta = {}): DeviceEntry {
    const path = relativePath === '' ? '' : checkPath(relativePath);
    this.ops.push({ op: 'write', domain, relativePath: path, kind: 'directory', meta: encodeMeta(meta) });
    return this.placeNode(domain, path, meta);
  }

  makeSymlink(domain: string, relativePath: string, target: string, meta: WriteMeta = {}): DeviceEntry {
    const path = checkPath(relativePath);
    this.ops.push({ op: 'write', domain, relativePath: path, kind: 'symlink', meta: encodeMeta(meta), target });
    return this.placeNode(domain, path, meta, target);
  }

  private placeNode(domain: string, path: string, meta: WriteMeta, target?: string): DeviceEntry {
    const existing = this.st.catalogue.get(domain, path);
    if (target === undefined && existing?.kind === 'directory') return existing;
    if (existing !== undefined) this.removeTree(domain, path);
    ensureParents(this.st, domain, path);
    const o = {
      ...meta,
      xattrs: meta.extendedAttributes,
      birth: meta.birth ?? this.st.clock,
      mtime: meta.mtime ?? this.st.clock,
    };
    const entry =
      target === undefined ? newDirectory(this.st, domain, path, o) : newSymlink(this.st, domain, path, target, o);
    this.st.catalogue.put(entry);
    return entry;
  }

  /** Removes a file, link or directory (with everything under it); false when absent. */
  removeFile(domain: string, relativePath: string): boolean {
    const path = relativePath.normalize('NFC');
    if (this.st.catalogue.get(domain, path) === undefined) return false;
    this.ops.push({ op: 'remove', domain, relativePath: path });
    this.removeTree(domain, path);
    return true;
  }

  private removeTree(domain: string, path: string): void {
    const doomed = [...this.st.catalogue.under(domain, path === '' ? '' : `${path}/`)];
    const self = this.st.catalogue.get(domain, path);
    if (self !== undefined) doomed.push(self);
    for (const e of doomed) {
      this.st.catalogue.remove(e.domain, e.relativePath);
      forget(this.st, e.domain, e.relativePath);
    }
  }

  /** The journal of every change since the content was built (JSON-safe). */
  serializeMutations(): MutationJournal {
    return { format: 'ibackup-content-journal', version: 1, ops: structuredClone(this.ops) };
  }

  /** Replays a journal (from `serializeMutations`, possibly parsed from JSON) onto this content. */
  async applyMutations(journal: unknown): Promise<void> {
    for (const op of parseJournal(journal).ops) {
      if (op.op === 'remove') {
        this.removeFile(op.domain, op.relativePath);
      } else if (op.op !== 'write') {
        this.mutate(op.op, op.n);
      } else if (op.kind === 'directory') {
        this.makeDirectory(op.domain, op.relativePath, decodeMeta(op.meta));
      } else if (op.kind === 'symlink') {
        this.makeSymlink(op.domain, op.relativePath, op.target ?? '', decodeMeta(op.meta));
      } else {
        await this.replayWrite(op.domain, op.relativePath, op, decodeMeta(op.meta));
      }
    }
  }

  private async replayWrite(
    domain: string,
    path: string,
    op: { sha1?: string; size?: number; data?: string },
    meta: WriteMeta,
  ): Promise<void> {
    const { sha1, data } = op;
    if (data !== undefined) {
      await this.writeFile(domain, path, new Uint8Array(Buffer.from(data, 'base64')), meta);
      return;
    }
    if (sha1 === undefined || !(await this.overrides.has(sha1))) {
      throw new IbackupError('INTERNAL', {
        message: `Restored file ${domain} ${path} lost its bytes.`,
        details: { domain, path },
      });
    }
    let size = op.size ?? 0;
    if (op.size === undefined)
      for await (const chunk of this.overrides.stream(sha1, 0, Number.MAX_SAFE_INTEGER, 1 << 20)) size += chunk.length;
    this.ops.push({ op: 'write', domain, relativePath: path, kind: 'file', meta: encodeMeta(meta), sha1, size });
    this.placeFile(domain, path, sha1, size, meta);
  }
}
