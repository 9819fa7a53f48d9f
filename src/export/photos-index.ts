/**
 * The small index an export keeps in its folder (.ibackup-photos.json): which files of which asset
 * were copied, keyed by the asset's UUID and the part (original, Live Photo video, edited
 * version) — file names repeat across the phone's 1xxAPPLE folders, UUIDs do not. A part counts
 * as exported while its file is still there with its size; the index is replaced atomically
 * (temporary name, then rename), so an interrupted export never leaves it half-written. A missing
 * or unreadable index means nothing was exported yet.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inside } from './photos-names.js';

export const INDEX_NAME = '.ibackup-photos.json';

export type PhotoPart = 'original' | 'live' | 'edited';

export interface IndexedFile {
  /** Path inside the export folder, "/"-separated. */
  path: string;
  bytes: number;
}

interface IndexFile {
  format: 'ibackup-photos-index';
  version: 1;
  files: Record<string, IndexedFile>;
}

function isIndexedFile(v: unknown): v is IndexedFile {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['path'] === 'string' && typeof o['bytes'] === 'number';
}

function parse(text: string): Map<string, IndexedFile> {
  const out = new Map<string, IndexedFile>();
  const doc = JSON.parse(text) as Partial<IndexFile> | null;
  if (doc?.format !== 'ibackup-photos-index' || typeof doc.files !== 'object' || doc.files === null) return out;
  for (const [k, v] of Object.entries(doc.files)) if (isIndexedFile(v)) out.set(k, v);
  return out;
}

export class PhotoIndex {
  private constructor(
    readonly out: string,
    private readonly files: Map<string, IndexedFile>,
  ) {}

  static load(out: string): PhotoIndex {
    let files = new Map<string, IndexedFile>();
    try {
      files = parse(readFileSync(path.join(out, INDEX_NAME), 'utf8'));
    } catch {
      // No index yet, or one that cannot be read: nothing counts as exported.
    }
    return new PhotoIndex(out, files);
  }

  static key(uuid: string, part: PhotoPart): string {
    return `${uuid}/${part}`;
  }

  /** The file a part was exported to, while it is still there with its size. */
  exported(uuid: string, part: PhotoPart): IndexedFile | undefined {
    const f = this.files.get(PhotoIndex.key(uuid, part));
    if (f === undefined) return undefined;
    try {
      const st = statSync(inside(this.out, f.path));
      return st.isFile() && st.size === f.bytes ? f : undefined;
    } catch {
      return undefined;
    }
  }

  /** Any file recorded for the asset (its parts share one name stem). */
  anyOf(uuid: string): IndexedFile | undefined {
    for (const part of ['original', 'live', 'edited'] as const) {
      const f = this.files.get(PhotoIndex.key(uuid, part));
      if (f !== undefined) return f;
    }
    return undefined;
  }

  /** Paths recorded for any asset (names taken in the folder even if the file was moved away). */
  paths(): Set<string> {
    return new Set([...this.files.values()].map((f) => f.path));
  }

  set(uuid: string, part: PhotoPart, file: IndexedFile): void {
    this.files.set(PhotoIndex.key(uuid, part), file);
  }

  /** Writes the index atomically. */
  async save(): Promise<void> {
    const doc: IndexFile = { format: 'ibackup-photos-index', version: 1, files: Object.fromEntries(this.files) };
    const target = path.join(this.out, INDEX_NAME);
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify(doc)}\n`, { mode: 0o644 });
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}
