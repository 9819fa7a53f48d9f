/**
 * Names of exported photos: the phone's own file name made safe (no separator, NUL, control
 * character, leading dot or name Windows reserves; never "." or ".."), a YYYY/MM folder from the
 * date the photo was taken, and a " (n)" suffix when another photo already has that name in the
 * folder — the same suffix for every file of one asset, so a Live Photo's still and video keep
 * matching names. Every target is checked to stay inside the output folder.
 */
import path from 'node:path';
import { windowsSafeSegment } from '../backup/safe-names.js';
import { IbackupError } from '../errors.js';

const MAX_STEM = 120;

/** "IMG_0001.HEIC" → ["IMG_0001", ".HEIC"] (a leading dot is part of the stem). */
export function splitName(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || name.length - dot > 10) return [name, ''];
  return [name.slice(0, dot), name.slice(dot)];
}

/** One portable file name from a name the phone gave; `fallback` when nothing usable is left. */
export function safePhotoName(raw: string, fallback: string): string {
  let s = raw
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex -- control characters never belong in a file name
    .replace(/[\u0000-\u001f\u007f/\\]/g, '_');
  s = windowsSafeSegment(s)
    .replace(/^[.\s]+/, '')
    .trim();
  if (s === '' || /^[_.]*$/.test(s)) s = fallback;
  const [stem, ext] = splitName(s);
  return [...stem].slice(0, MAX_STEM).join('') + ext;
}

/** The name iOS gives an edited version: IMG_0001.HEIC → IMG_E0001.jpg. */
export function editedName(original: string): string {
  const [stem] = splitName(original);
  return `${/^IMG_/i.test(stem) ? `${stem.slice(0, 4)}E${stem.slice(4)}` : `${stem}_edited`}.jpg`;
}

/** YYYY/MM (local time) of when the photo was taken; "Unknown date" without one. */
export function monthFolder(created: number | null): string {
  if (created === null || !Number.isFinite(created)) return 'Unknown date';
  const d = new Date(created);
  return `${d.getFullYear()}/${String(d.getMonth() + 1).padStart(2, '0')}`;
}

/** `name` with " (n)" before its extension (n = 0: unchanged). */
export function withSuffix(name: string, n: number): string {
  if (n === 0) return name;
  const [stem, ext] = splitName(name);
  return `${stem} (${n})${ext}`;
}

/** The absolute target of `rel` under `out`, refusing anything that would leave it. */
export function inside(out: string, rel: string): string {
  const root = path.resolve(out);
  const target = path.resolve(root, rel);
  if (!target.startsWith(root + path.sep))
    throw new IbackupError('UNSAFE_PATH', { message: `"${rel}" would be written outside ${root}.`, details: { rel } });
  return target;
}
