/** Camera-roll items: photo and video entries, and the asset list Photos.sqlite is built from. */
import type { PhotoAsset } from './databases-more.js';
import { photoPath } from './domains.js';
import { makeFile, type ContentState } from './entries.js';
import type { DeviceEntry } from './model.js';
import { photoPlan } from './photos.js';
import { rngFor } from './random.js';

export const CAMERA_DOMAIN = 'CameraRollDomain';
export const DCIM = 'Media/DCIM/';

function assetXattrs(seed: number, relativePath: string, created: number): Record<string, Uint8Array> {
  const date = new Uint8Array(8);
  new DataView(date.buffer).setFloat64(0, created, true);
  return {
    'com.apple.assetsd.UUID': new TextEncoder().encode(rngFor(seed, 'asset-uuid', relativePath).uuid()),
    'com.apple.assetsd.customCreationDate': date,
  };
}

/** The n-th photo, taken at `taken` (Unix seconds). */
export function makePhoto(st: ContentState, n: number, taken: number): DeviceEntry {
  const relativePath = photoPath(n);
  const plan = photoPlan(st.seed, CAMERA_DOMAIN, relativePath, 0, st.maxSide);
  return makeFile(st, CAMERA_DOMAIN, relativePath, {
    size: plan.size,
    source: 'photo',
    birth: taken,
    mtime: taken,
    protectionClass: 3,
    mode: 0o644,
    xattrs: assetXattrs(st.seed, relativePath, taken),
  });
}

/** A video of `size` bytes, generated on the fly when read. */
export function makeVideo(st: ContentState, n: number, size: number, taken: number): DeviceEntry {
  const relativePath = photoPath(n, 'MOV');
  return makeFile(st, CAMERA_DOMAIN, relativePath, {
    size,
    source: 'noise',
    birth: taken,
    mtime: taken,
    protectionClass: 3,
    mode: 0o644,
    xattrs: assetXattrs(st.seed, relativePath, taken),
  });
}

/** The camera roll as Photos.sqlite lists it. */
export function photoAssets(st: ContentState, entries: Iterable<DeviceEntry>): PhotoAsset[] {
  const out: PhotoAsset[] = [];
  for (const e of entries) {
    if (e.domain !== CAMERA_DOMAIN || e.kind !== 'file' || !e.relativePath.startsWith(DCIM)) continue;
    const slash = e.relativePath.lastIndexOf('/');
    const video = e.relativePath.endsWith('.MOV');
    const plan = video
      ? { width: 1920, height: 1080 }
      : photoPlan(st.seed, e.domain, e.relativePath, e.version, st.maxSide);
    out.push({
      directory: e.relativePath.slice('Media/'.length, slash),
      filename: e.relativePath.slice(slash + 1),
      created: e.birth,
      modified: e.mtime,
      width: plan.width,
      height: plan.height,
      size: e.size,
      video,
    });
  }
  return out;
}
