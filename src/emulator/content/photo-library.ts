/**
 * The phone's photo library: one record per asset (a photo, a video or a Live Photo pair), the
 * files it leaves on the phone, and what a computer backup takes of them in each iCloud Photos
 * state. docs/devices.md lists each behaviour with its source:
 * - the camera roll's originals are /DCIM/1xxAPPLE/IMG_nnnn.JPG|HEIC|MOV on the media partition, a
 *   Live Photo being a still and a MOV of the same name (iLEAPP Photos.sqlite parsers: ZDIRECTORY
 *   and ZFILENAME name "DCIM/100APPLE" and "IMG_0001.HEIC"; ZKINDSUBTYPE 2 = Live Photo);
 * - edits are rendered under PhotoData/Mutations/DCIM/1xxAPPLE/IMG_nnnn/Adjustments/
 *   FullSizeRender.jpg and the phone's own small JPEG thumbnails under
 *   PhotoData/Thumbnails/V2/DCIM/1xxAPPLE/IMG_nnnn.EXT/5005.JPG (iLEAPP's Photos parsers; resource
 *   type 5003/5005 JPG thumbnails in ZINTERNALRESOURCE);
 * - with "Optimize iPhone Storage" most originals stay only in iCloud (ZINTERNALRESOURCE
 *   ZLOCALAVAILABILITY -1 for the original, iLEAPP Ph051 "possible optimized assets"), the small
 *   versions stay on the phone;
 * - a computer backup leaves the camera roll out whenever iCloud Photos is on: Apple's list of what
 *   a computer backup does not include names "data already stored in iCloud, like iCloud Photos"
 *   (Apple Support, "About backups for iPhone"); Photos.sqlite and the thumbnails stay in it.
 */
import { rngFor } from './random.js';

export type IcloudPhotos = 'off' | 'keep-originals' | 'optimize';
export const ICLOUD_PHOTOS_STATES: readonly IcloudPhotos[] = ['off', 'keep-originals', 'optimize'];

export type AssetFormat = 'JPG' | 'HEIC' | 'MOV';

/** One asset of the library (the camera-roll number names its files). */
export interface LibraryRecord {
  n: number;
  format: AssetFormat;
  /** A Live Photo: a MOV of the same name beside the still. */
  live: boolean;
  /** Edited in Photos: a rendered FullSizeRender.jpg under PhotoData/Mutations. */
  edited: boolean;
  hidden: boolean;
  /** In Recently Deleted (ZTRASHEDSTATE 1): its files stay on the phone for 30 days. */
  trashed: boolean;
  /** The original is on the phone (false: only in iCloud, "Optimize iPhone Storage"). */
  local: boolean;
  /** Unix seconds. */
  taken: number;
}

/** The kinds of asset, by camera-roll number, so that even a tiny library holds each of them. */
const PATTERN: readonly Omit<LibraryRecord, 'n' | 'local' | 'taken'>[] = [
  { format: 'JPG', live: false, edited: false, hidden: false, trashed: false },
  { format: 'HEIC', live: true, edited: false, hidden: false, trashed: false },
  { format: 'MOV', live: false, edited: false, hidden: false, trashed: false },
  { format: 'HEIC', live: false, edited: false, hidden: false, trashed: false },
  { format: 'JPG', live: false, edited: true, hidden: false, trashed: false },
  { format: 'HEIC', live: false, edited: false, hidden: true, trashed: false },
  { format: 'JPG', live: false, edited: false, hidden: false, trashed: true },
  { format: 'HEIC', live: true, edited: true, hidden: false, trashed: false },
  { format: 'JPG', live: false, edited: false, hidden: false, trashed: false },
  { format: 'HEIC', live: false, edited: false, hidden: false, trashed: false },
];

/** The n-th asset of the generated library (n from 1); `newest` ones keep their original even when optimised. */
export function generatedRecord(n: number, taken: number, icloud: IcloudPhotos, newest: boolean): LibraryRecord {
  const kind = PATTERN[n % PATTERN.length] as (typeof PATTERN)[number];
  const local = icloud !== 'optimize' || newest || n % 3 === 0;
  return { n, ...kind, local, taken };
}

/** A photo just taken on the phone: a JPEG still, on the phone until iCloud optimises it. */
export function takenRecord(n: number, taken: number): LibraryRecord {
  return { n, format: 'JPG', live: false, edited: false, hidden: false, trashed: false, local: true, taken };
}

/** 100APPLE for 1–999… as iOS numbers its folders (1000 per folder). */
export function dcimFolder(n: number): string {
  return `DCIM/${100 + Math.floor((n - 1) / 1000)}APPLE`;
}

export function stem(n: number): string {
  return `IMG_${String(((n - 1) % 9999) + 1).padStart(4, '0')}`;
}

/** Paths (inside CameraRollDomain) of an asset's files. */
export const libraryPaths = {
  original: (r: LibraryRecord): string => `Media/${dcimFolder(r.n)}/${stem(r.n)}.${r.format}`,
  liveVideo: (r: LibraryRecord): string => `Media/${dcimFolder(r.n)}/${stem(r.n)}.MOV`,
  render: (r: LibraryRecord): string =>
    `Media/PhotoData/Mutations/${dcimFolder(r.n)}/${stem(r.n)}/Adjustments/FullSizeRender.jpg`,
  thumbnail: (r: LibraryRecord): string =>
    `Media/PhotoData/Thumbnails/V2/${dcimFolder(r.n)}/${stem(r.n)}.${r.format}/5005.JPG`,
};

/** Byte sizes of files that are seeded noise with a format header (HEIC stills, MOV videos). */
export function noiseSize(seed: number, path: string, kind: 'heic' | 'video' | 'live', maxSide: number): number {
  const rng = rngFor(seed, 'library-size', path);
  const scale = Math.max(0.05, maxSide / 1024);
  if (kind === 'heic') return Math.round(scale * rng.int(60_000, 250_000));
  if (kind === 'live') return Math.round(scale * rng.int(40_000, 120_000));
  return Math.round(scale * rng.int(150_000, 600_000));
}

/** Size of an original that is only in iCloud (no bytes on the phone). */
export function cloudOnlySize(seed: number, r: LibraryRecord): number {
  return rngFor(seed, 'cloud-size', r.n).int(r.format === 'MOV' ? 8_000_000 : 1_500_000, 25_000_000);
}

/** Whether a computer backup carries a CameraRollDomain file in this iCloud Photos state. */
export function backupCarries(icloud: IcloudPhotos, relativePath: string): boolean {
  if (icloud === 'off') return true;
  return !relativePath.startsWith('Media/DCIM/') && !relativePath.startsWith('Media/PhotoData/Mutations/');
}
