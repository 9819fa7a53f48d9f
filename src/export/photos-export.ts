/**
 * Copying a photo library's originals to a folder, like Image Capture or Windows Photos import:
 * the phone's file names and dates (file times set from the library), a Live Photo's still and
 * video side by side, edited versions on request, hidden ones on request, Recently Deleted never,
 * YYYY/MM folders, and only what the folder's index (photos-index.ts) does not hold yet. Each file
 * is streamed to a hidden temporary name in its folder, flushed, dated, then renamed into place,
 * so an interruption (Ctrl-C, a pulled cable) leaves no partial file under a real name and the
 * next run picks up where this one stopped.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { PhotoIndex, type PhotoPart } from './photos-index.js';
import type { PhotoFiles } from './photos-files.js';
import { safeLibraryPath } from './photos-files.js';
import type { LibraryAsset, PhotoLibrary } from './photos-library.js';
import { editedName, inside, monthFolder, safePhotoName, splitName, withSuffix } from './photos-names.js';
import { planProgress, type PhotoExportProgress } from './photos-progress.js';

export type { PhotoExportProgress } from './photos-progress.js';

export interface PhotoExportOptions {
  out: string;
  /** Only photos taken at or after this time (ms since 1970). */
  since?: number;
  /** Only photos in this album (its title; case-insensitive when no title matches exactly). */
  album?: string;
  edited?: boolean;
  hidden?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: PhotoExportProgress) => void;
  /** Least time between two progress reports (default 200 ms). */
  progressIntervalMs?: number;
}

export interface PhotoExportResult {
  /** Files written, of every kind. */
  copied: number;
  /** Files already in the folder from an earlier export. */
  skipped: number;
  /** Photos and videos whose original is not there to copy (only in iCloud, or not in the backup). */
  notOnDevice: number;
  bytes: number;
  out: string;
  /** Photos and videos the selection held. */
  assets: number;
  /** Files that could not be copied, with the reason. */
  problems: { file: string; reason: string }[];
}

/** One file to copy: where it is read from and the path it gets inside the output folder. */
interface PlannedFile {
  asset: LibraryAsset;
  part: PhotoPart;
  source: string;
  target: string;
  size: number;
}

function selectAssets(lib: PhotoLibrary, o: PhotoExportOptions): LibraryAsset[] {
  const exact = o.album === undefined ? [] : lib.assets.filter((a) => a.albums.includes(o.album as string));
  const wanted = o.album?.toLowerCase();
  const inAlbum = (a: LibraryAsset): boolean =>
    o.album === undefined ||
    (exact.length > 0 ? a.albums.includes(o.album) : a.albums.some((t) => t.toLowerCase() === wanted));
  return lib.assets.filter(
    (a) =>
      !a.trashed &&
      (o.hidden === true || !a.hidden) &&
      (o.since === undefined || (a.created !== null && a.created >= o.since)) &&
      inAlbum(a),
  );
}

/** Where each part of an asset is read from on the phone (media-partition paths). */
function sourcesOf(a: LibraryAsset, edited: boolean): [PhotoPart, string][] {
  const [stem] = splitName(a.filename);
  const out: [PhotoPart, string][] = [['original', `${a.directory}/${a.filename}`]];
  if (a.live && a.kind === 'photo') out.push(['live', `${a.directory}/${stem}.MOV`]);
  if (edited && a.edited)
    out.push(['edited', `PhotoData/Mutations/${a.directory}/${stem}/Adjustments/FullSizeRender.jpg`]);
  return out;
}

function fileName(part: PhotoPart, original: string): string {
  if (part === 'original') return original;
  if (part === 'live') return `${splitName(original)[0]}.MOV`;
  return editedName(original);
}

/** Picks names for an asset's parts: the ones of an earlier export, else free ones in its YYYY/MM folder. */
class Namer {
  private readonly reserved: Set<string>;

  constructor(
    private readonly out: string,
    private readonly index: PhotoIndex,
  ) {
    this.reserved = index.paths();
  }

  private free(rel: string): boolean {
    if (this.reserved.has(rel)) return false;
    try {
      lstatSync(inside(this.out, rel));
      return false;
    } catch {
      return true;
    }
  }

  names(a: LibraryAsset, parts: readonly PhotoPart[]): Map<PhotoPart, string> {
    const out = new Map<PhotoPart, string>();
    const earlier = this.index.exported(a.uuid, 'original');
    if (earlier !== undefined) {
      // A part added later (an edit, with --edited) goes beside the original, never over another file.
      const folder = path.posix.dirname(earlier.path);
      const original = path.posix.basename(earlier.path);
      for (const p of parts) {
        let rel = `${folder}/${fileName(p, original)}`;
        for (let n = 1; !this.free(rel); n++) rel = `${folder}/${withSuffix(fileName(p, original), n)}`;
        this.reserved.add(rel);
        out.set(p, rel);
      }
      return out;
    }
    const folder = monthFolder(a.created);
    const base = safePhotoName(a.filename, `photo-${safePhotoName(a.uuid, 'unknown')}`);
    for (let n = 0; ; n++) {
      const original = withSuffix(base, n);
      const candidate = parts.map((p): [PhotoPart, string] => [p, `${folder}/${fileName(p, original)}`]);
      if (candidate.every(([, rel]) => this.free(rel))) {
        for (const [p, rel] of candidate) {
          out.set(p, rel);
          this.reserved.add(rel);
        }
        return out;
      }
    }
  }
}

interface Plan {
  files: PlannedFile[];
  skipped: number;
  notOnDevice: number;
  problems: PhotoExportResult['problems'];
}

async function planAsset(
  a: LibraryAsset,
  files: PhotoFiles,
  o: PhotoExportOptions,
  index: PhotoIndex,
  namer: Namer,
  plan: Plan,
): Promise<void> {
  const wanted = sourcesOf(a, o.edited === true).filter(([part]) => {
    if (index.exported(a.uuid, part) === undefined) return true;
    plan.skipped++;
    return false;
  });
  if (wanted.length === 0) return;
  const sizeOf = async (source: string): Promise<number | null> =>
    a.local === false || !safeLibraryPath(source) ? null : files.size(source);
  // An original that is not there (only in iCloud, or not in the backup): the asset is left, all of it.
  const exported = index.exported(a.uuid, 'original') !== undefined;
  if (!exported && (await sizeOf(`${a.directory}/${a.filename}`)) === null) {
    plan.notOnDevice++;
    return;
  }
  const sizes = new Map<PhotoPart, number>();
  for (const [part, source] of wanted) {
    const size = await sizeOf(source);
    if (size !== null) sizes.set(part, size);
    else
      plan.problems.push({
        file: source,
        reason: `not found on ${files.where === 'device' ? 'the iPhone' : 'the backup'}`,
      });
  }
  const names = namer.names(a, [...sizes.keys()]);
  for (const [part, source] of wanted) {
    const size = sizes.get(part);
    const target = names.get(part);
    if (size !== undefined && target !== undefined) plan.files.push({ asset: a, part, source, target, size });
  }
}

/** Streams one file to a hidden temporary name beside its target, dates it, then renames it. */
async function copyFile(
  files: PhotoFiles,
  f: PlannedFile,
  out: string,
  signal: AbortSignal | undefined,
  onBytes: (n: number) => void,
): Promise<number> {
  const target = inside(out, f.target);
  await mkdir(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.partial`);
  const handle = await open(temp, 'wx', 0o644);
  let closed = false;
  let bytes = 0;
  try {
    for await (const chunk of files.chunks(f.source, signal)) {
      signal?.throwIfAborted();
      await handle.write(chunk);
      bytes += chunk.length;
      onBytes(chunk.length);
    }
    await handle.sync();
    await handle.close();
    closed = true;
    if (f.asset.created !== null) await utimes(temp, f.asset.created / 1000, f.asset.created / 1000);
    signal?.throwIfAborted();
    await rename(temp, target);
    return bytes;
  } catch (err) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}

const PARTIAL = /^\..+\.[0-9a-f]{8}\.partial$/;

/** Temporary files an export killed outright (no chance to clean up) left in the YYYY/MM folders. */
async function removeStalePartials(out: string): Promise<void> {
  const entries = await readdir(out, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries)
    if (e.isFile() && PARTIAL.test(e.name)) await rm(path.join(e.parentPath, e.name), { force: true });
}

/** Copies the selected originals (see the module comment). */
export async function exportPhotos(
  lib: PhotoLibrary,
  files: PhotoFiles,
  o: PhotoExportOptions,
): Promise<PhotoExportResult> {
  const out = path.resolve(o.out);
  await mkdir(out, { recursive: true });
  await removeStalePartials(out);
  const index = PhotoIndex.load(out);
  const namer = new Namer(out, index);
  const selected = selectAssets(lib, o);
  const plan: Plan = { files: [], skipped: 0, notOnDevice: 0, problems: [] };
  for (const a of selected) {
    o.signal?.throwIfAborted();
    await planAsset(a, files, o, index, namer, plan);
  }
  const progress = planProgress(plan.files, o.onProgress, o.progressIntervalMs);
  let copied = 0;
  let bytes = 0;
  for (const f of plan.files) {
    const n = await copyFile(files, f, out, o.signal, (k) => progress.bytes(k));
    await index.add(f.asset.uuid, f.part, { path: f.target, bytes: n });
    copied++;
    bytes += n;
    progress.fileDone();
  }
  progress.end();
  return {
    copied,
    skipped: plan.skipped,
    notOnDevice: plan.notOnDevice,
    bytes,
    out,
    assets: selected.length,
    problems: plan.problems,
  };
}
