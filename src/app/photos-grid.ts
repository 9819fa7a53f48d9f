/**
 * A backup's photos as a grid of tiles, newest first, a page at a time: a JPEG or PNG original is
 * shown as it is; anything else (HEIC, videos) through the phone's own small JPEG thumbnail
 * (PhotoData/Thumbnails/V2/…/5005.JPG) when the backup has it, else as an icon — a browser cannot
 * decode HEVC. The backup is opened once (an encrypted one with its password or cached key) and
 * read from while the grid is in use; nothing is written anywhere.
 */
import type { PhotoFiles } from '../export/photos-files.js';
import { backupPhotoFiles, readLibraryFrom } from '../export/photos-files.js';
import type { LibraryAsset } from '../export/photos-library.js';
import { openBackupView, type OpenViewOptions } from './backup-view.js';

export interface PhotoTile {
  /** Position in the grid (newest first), the id of its image. */
  id: number;
  name: string;
  kind: 'photo' | 'video';
  /** ISO date taken, when known. */
  created: string | null;
  /** What the grid can show: the original, the phone's thumbnail, or an icon. */
  show: 'original' | 'thumbnail' | 'icon';
  /** The original is in the backup. */
  inBackup: boolean;
}

export interface PhotoImage {
  type: 'image/jpeg' | 'image/png';
  bytes: Uint8Array;
}

export interface PhotoGrid {
  readonly total: number;
  readonly encrypted: boolean;
  page(offset: number, limit: number): Promise<PhotoTile[]>;
  image(id: number): Promise<PhotoImage | null>;
  close(): void;
}

/** Largest image served to the page. */
const MAX_IMAGE = 64 * 1024 * 1024;

interface Cell {
  tile: PhotoTile;
  source: string | null;
  type: PhotoImage['type'];
}

function typeOf(name: string): PhotoImage['type'] | null {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  if (ext === 'jpg' || ext === 'jpeg') return 'image/jpeg';
  if (ext === 'png') return 'image/png';
  return null;
}

async function cellOf(a: LibraryAsset, id: number, files: PhotoFiles): Promise<Cell> {
  const original = `${a.directory}/${a.filename}`;
  const thumbnail = `PhotoData/Thumbnails/V2/${a.directory}/${a.filename}/5005.JPG`;
  const inBackup = (await files.size(original)) !== null;
  const originalType = a.kind === 'photo' ? typeOf(a.filename) : null;
  const tile = {
    id,
    name: a.filename,
    kind: a.kind,
    created: a.created === null ? null : new Date(a.created).toISOString(),
    inBackup,
  };
  if (inBackup && originalType !== null)
    return { tile: { ...tile, show: 'original' }, source: original, type: originalType };
  if ((await files.size(thumbnail)) !== null)
    return { tile: { ...tile, show: 'thumbnail' }, source: thumbnail, type: 'image/jpeg' };
  return { tile: { ...tile, show: 'icon' }, source: null, type: 'image/jpeg' };
}

/** Opens a backup's photo grid (PASSWORD_REQUIRED / WRONG_PASSWORD for an encrypted one without its key). */
export async function openPhotoGrid(dir: string, unlock: OpenViewOptions = {}): Promise<PhotoGrid> {
  const view = await openBackupView(dir, unlock);
  try {
    const files = backupPhotoFiles(view);
    const lib = await readLibraryFrom(files);
    const shown = lib.assets.filter((a) => !a.trashed && !a.hidden).sort((a, b) => (b.created ?? 0) - (a.created ?? 0));
    // Tiles are worked out a page at a time (the first page must come fast for large libraries).
    const cells = new Map<number, Cell>();
    const cell = async (id: number): Promise<Cell | undefined> => {
      const a = shown[id];
      if (a === undefined) return undefined;
      let c = cells.get(id);
      if (c === undefined) cells.set(id, (c = await cellOf(a, id, files)));
      return c;
    };
    return {
      total: shown.length,
      encrypted: view.encrypted,
      async page(offset, limit) {
        const out: PhotoTile[] = [];
        const from = Math.max(0, offset);
        for (let id = from; id < Math.min(shown.length, from + Math.max(0, limit)); id++)
          out.push(((await cell(id)) as Cell).tile);
        return out;
      },
      async image(id) {
        const c = await cell(id);
        if (c?.source == null) return null;
        const bytes = await files.readSmall(c.source, MAX_IMAGE);
        return bytes === null ? null : { type: c.type, bytes };
      },
      close: () => view.close(),
    };
  } catch (err) {
    view.close();
    throw err;
  }
}
