/**
 * The photo library's files on the phone (photo-library.ts says which and why): originals in the
 * camera roll, Live Photo videos, rendered edits and the phone's JPEG thumbnails; and the asset
 * list Photos.sqlite is built from.
 */
import { makeFile, type ContentState } from './entries.js';
import type { DeviceEntry } from './model.js';
import { dcimFolder, cloudOnlySize, libraryPaths, noiseSize, stem, type LibraryRecord } from './photo-library.js';
import type { PhotoAsset } from './photos-db.js';
import { photoPlan } from './photos.js';
import { rngFor } from './random.js';

export const CAMERA_DOMAIN = 'CameraRollDomain';
export const DCIM = 'Media/DCIM/';

/** The asset's UUID (ZUUID), also in its original's com.apple.assetsd.UUID attribute. */
export function assetUuid(seed: number, r: LibraryRecord): string {
  return rngFor(seed, 'asset-uuid', libraryPaths.original(r)).uuid().toUpperCase();
}

function assetXattrs(seed: number, r: LibraryRecord): Record<string, Uint8Array> {
  const date = new Uint8Array(8);
  new DataView(date.buffer).setFloat64(0, r.taken, true);
  return {
    'com.apple.assetsd.UUID': new TextEncoder().encode(assetUuid(seed, r)),
    'com.apple.assetsd.customCreationDate': date,
  };
}

function mediaFile(
  st: ContentState,
  path: string,
  r: LibraryRecord,
  o: { size: number; source: 'photo' | 'noise'; xattrs?: Record<string, Uint8Array> },
): DeviceEntry {
  return makeFile(st, CAMERA_DOMAIN, path, {
    ...o,
    birth: r.taken,
    mtime: r.taken,
    protectionClass: 3,
    mode: 0o644,
  });
}

function photoSize(st: ContentState, path: string): number {
  return photoPlan(st.seed, CAMERA_DOMAIN, path, 0, st.maxSide).size;
}

/** The original of an asset (when it is on the phone), `hugeSize` for the profile's huge videos. */
function originalFile(st: ContentState, r: LibraryRecord, hugeSize?: number): DeviceEntry {
  const path = libraryPaths.original(r);
  const xattrs = assetXattrs(st.seed, r);
  if (r.format === 'JPG') return mediaFile(st, path, r, { size: photoSize(st, path), source: 'photo', xattrs });
  const size = hugeSize ?? noiseSize(st.seed, path, r.format === 'HEIC' ? 'heic' : 'video', st.maxSide);
  return mediaFile(st, path, r, { size, source: 'noise', xattrs });
}

/** Every file an asset leaves on the phone. */
export function recordFiles(st: ContentState, r: LibraryRecord, hugeSize?: number): DeviceEntry[] {
  const out: DeviceEntry[] = [];
  const thumb = libraryPaths.thumbnail(r);
  out.push(mediaFile(st, thumb, r, { size: photoSize(st, thumb), source: 'photo' }));
  if (!r.local) return out;
  out.push(originalFile(st, r, hugeSize));
  if (r.live) {
    const path = libraryPaths.liveVideo(r);
    out.push(mediaFile(st, path, r, { size: noiseSize(st.seed, path, 'live', st.maxSide), source: 'noise' }));
  }
  if (r.edited && r.format !== 'MOV') {
    const path = libraryPaths.render(r);
    out.push(mediaFile(st, path, r, { size: photoSize(st, path), source: 'photo' }));
  }
  return out;
}

/** Adds an asset to the library and returns its files. */
export function addRecord(st: ContentState, r: LibraryRecord, hugeSize?: number): DeviceEntry[] {
  st.library.set(r.n, r);
  return recordFiles(st, r, hugeSize);
}

/** The library as Photos.sqlite lists it: an asset whose original was deleted from the phone is gone. */
export function photoAssets(st: ContentState): PhotoAsset[] {
  const out: PhotoAsset[] = [];
  for (const r of [...st.library.values()].sort((a, b) => a.n - b.n)) {
    const path = libraryPaths.original(r);
    const e = st.catalogue.get(CAMERA_DOMAIN, path);
    if (r.local && e === undefined) continue;
    const plan =
      r.format === 'MOV'
        ? { width: 1920, height: 1080 }
        : photoPlan(st.seed, CAMERA_DOMAIN, path, e?.version ?? 0, st.maxSide);
    out.push({
      record: r,
      uuid: assetUuid(st.seed, r),
      directory: dcimFolder(r.n),
      filename: `${stem(r.n)}.${r.format}`,
      created: r.taken,
      modified: e?.mtime ?? r.taken,
      width: plan.width,
      height: plan.height,
      size: e?.size ?? cloudOnlySize(st.seed, r),
    });
  }
  return out;
}
