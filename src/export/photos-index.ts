/**
 * The small index an export keeps in its folder (.ibackup-photos.ndjson): which files of which
 * asset were copied, keyed by the asset's UUID and the part (original, Live Photo video, edited
 * version) — file names repeat across the phone's 1xxAPPLE folders, UUIDs do not. One line is
 * appended once a file is in place, so an export stopped at any moment loses at most the line
 * being written (a torn last line is ignored when the index is read). A part counts as exported
 * while its file is still there with its size. A missing index means nothing was exported yet.
 */
import { readFileSync, statSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { inside } from './photos-names.js';

export const INDEX_NAME = '.ibackup-photos.ndjson';

export type PhotoPart = 'original' | 'live' | 'edited';

export interface IndexedFile {
  /** Path inside the export folder, "/"-separated. */
  path: string;
  bytes: number;
}

function parse(text: string): Map<string, IndexedFile> {
  const out = new Map<string, IndexedFile>();
  for (const line of text.split('\n')) {
    try {
      const o = JSON.parse(line) as { k?: unknown; p?: unknown; b?: unknown } | null;
      if (typeof o?.k === 'string' && typeof o.p === 'string' && typeof o.b === 'number')
        out.set(o.k, { path: o.p, bytes: o.b });
    } catch {
      // A line cut short by an interruption: that file is copied again.
    }
  }
  return out;
}

export class PhotoIndex {
  private constructor(
    readonly out: string,
    private readonly files: Map<string, IndexedFile>,
    /** The index ends in a line cut short: the next line starts on a line of its own. */
    private tornTail: boolean,
  ) {}

  static load(out: string): PhotoIndex {
    let text = '';
    try {
      text = readFileSync(path.join(out, INDEX_NAME), 'utf8');
    } catch {
      // No index yet, or one that cannot be read: nothing counts as exported.
    }
    return new PhotoIndex(out, parse(text), text.length > 0 && !text.endsWith('\n'));
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

  /** Paths recorded for any asset (names taken in the folder even if the file was moved away). */
  paths(): Set<string> {
    return new Set([...this.files.values()].map((f) => f.path));
  }

  /** Records an exported file (appended to the index at once). */
  async add(uuid: string, part: PhotoPart, file: IndexedFile): Promise<void> {
    this.files.set(PhotoIndex.key(uuid, part), file);
    const line = JSON.stringify({ k: PhotoIndex.key(uuid, part), p: file.path, b: file.bytes });
    await appendFile(path.join(this.out, INDEX_NAME), `${this.tornTail ? '\n' : ''}${line}\n`);
    this.tornTail = false;
  }
}
