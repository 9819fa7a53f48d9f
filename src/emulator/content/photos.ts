/**
 * Camera-roll photos: real baseline JPEGs (4:2:0, see jpeg-encoder.ts) of seeded noise pixels,
 * distinct per file and incompressible. A photo's size is known without encoding it: it is an upper bound of the
 * encoded size plus seeded extra, and the encoded image is padded up to it with APP15 segments of
 * noise, which decoders skip.
 */
import { IbackupError } from '../../errors.js';
import { encodeJpeg } from './jpeg-encoder.js';
import { keyedBytes, rngFor, streamKey } from './random.js';

export interface PhotoPlan {
  width: number;
  height: number;
  quality: number;
  /** Size of the file, padding included. */
  size: number;
}

const QUALITY = 85;
/**
 * Bytes a photo's file takes per pixel: encoded noise at quality 85 stays below ~0.8 bytes per
 * pixel plus ~640 bytes of headers; the rest is padding.
 */
const BYTES_PER_PIXEL_BOUND = 1.9;
/** Long side of the phone's small JPEG thumbnails (the 5005.JPG files). */
const THUMBNAIL_SIDE = 160;
const HEADER_BOUND = 2048;
const ASPECTS: readonly [number, number][] = [
  [4, 3],
  [3, 4],
  [1, 1],
  [16, 9],
  [9, 16],
];

/** Dimensions and size of a photo, from its identity alone. `maxSide` bounds the long side. */
export function photoPlan(
  seed: number,
  domain: string,
  relativePath: string,
  version: number,
  maxSide: number,
): PhotoPlan {
  const rng = rngFor(seed, 'photo', domain, relativePath, version);
  // The phone's own thumbnails (PhotoData/Thumbnails, photo-library.ts) are small JPEGs.
  if (relativePath.includes('/Thumbnails/')) maxSide = Math.min(maxSide, THUMBNAIL_SIDE);
  const [a, b] = rng.pick(ASPECTS);
  const minSide = Math.min(64, maxSide);
  const long = Math.round(minSide + (maxSide - minSide) * rng.float() ** 2);
  const landscape = a >= b;
  const short = Math.max(16, Math.round((long * Math.min(a, b)) / Math.max(a, b)));
  const width = landscape ? long : short;
  const height = landscape ? short : long;
  const extra = rng.int(0, 16 * 1024);
  return {
    width,
    height,
    quality: QUALITY,
    size: Math.ceil(width * height * BYTES_PER_PIXEL_BOUND) + HEADER_BOUND + extra,
  };
}

/** APP15 segments of noise filling exactly `total` bytes (total is 0 or at least 4). */
function padding(key: Uint8Array, total: number): Uint8Array {
  const out = new Uint8Array(total);
  if (total === 0) return out;
  const segments = Math.ceil(total / 65537);
  const noise = keyedBytes(key, 0, total);
  let at = 0;
  for (let s = 0; s < segments; s++) {
    const length = Math.floor(total / segments) + (s < total % segments ? 1 : 0);
    out[at] = 0xff;
    out[at + 1] = 0xef;
    out[at + 2] = ((length - 2) >>> 8) & 0xff;
    out[at + 3] = (length - 2) & 0xff;
    out.set(noise.subarray(at + 4, at + length), at + 4);
    at += length;
  }
  return out;
}

/** The JPEG bytes of a photo, exactly `plan.size` long. */
export function renderPhoto(
  seed: number,
  domain: string,
  relativePath: string,
  version: number,
  plan: PhotoPlan,
): Uint8Array {
  const { width, height, size } = plan;
  const pixels = keyedBytes(streamKey(seed, domain, relativePath, version, 'pixels'), 0, width * height * 3);
  for (let quality = plan.quality; quality > 0; quality = Math.floor(quality / 2)) {
    const image = encodeJpeg(pixels, width, height, quality);
    const gap = size - image.length;
    if (gap !== 0 && gap < 4) continue;
    // After SOI (2 bytes) and the APP0 JFIF segment the encoder always writes.
    const insertAt = image[2] === 0xff && image[3] === 0xe0 ? 4 + (((image[4] ?? 0) << 8) | (image[5] ?? 0)) : 2;
    const out = new Uint8Array(size);
    out.set(image.subarray(0, insertAt), 0);
    out.set(padding(streamKey(seed, domain, relativePath, version, 'padding'), gap), insertAt);
    out.set(image.subarray(insertAt), insertAt + gap);
    return out;
  }
  throw new IbackupError('INTERNAL', { message: `Photo ${relativePath} does not fit its ${size} bytes.` });
}
