/**
 * Turning a backup's `<domain>/<relativePath>` (untrusted: written by the device) into path
 * segments that are safe to create under an output folder. Always refused: a NUL, an absolute
 * path, a ".." segment, an empty or dotted domain. Always fixed: empty and "." segments are
 * dropped, a segment longer than 255 bytes is shortened (keeping its extension, adding a hash so
 * shortened names stay distinct). With Windows names (the default on Windows, an option
 * elsewhere): the characters `< > : " / \ | ? *` and control characters become "_", trailing dots
 * and spaces become "_", reserved device names (CON, PRN, AUX, NUL, COM1–9, LPT1–9, with or
 * without an extension) get a "_" prefix, and segments are cut at 255 UTF-16 units.
 */
import { createHash } from 'node:crypto';

export interface SafeNameOptions {
  /** Apply Windows file-name rules (default: on Windows only). */
  windows?: boolean;
}

export type SafePath =
  | { ok: true; segments: string[]; /** True when a name had to be changed. */ changed: boolean }
  | { ok: false; reason: string };

/** Longest file name most file systems accept (bytes on POSIX, UTF-16 units on NTFS). */
export const MAX_SEGMENT = 255;
/** Longest whole path ibackup writes (Windows' extended-length limit; POSIX PATH_MAX is 4096 bytes). */
export const MAX_PATH_WINDOWS = 32_000;
export const MAX_PATH_POSIX = 4_000;

// eslint-disable-next-line no-control-regex -- control characters are exactly what Windows forbids
const WINDOWS_FORBIDDEN = /[<>:"/\\|?*\u0000-\u001f]/g;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\.|$)/i;

export function windowsNamesByDefault(): boolean {
  return process.platform === 'win32';
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Cuts a name to the limit, keeping a short extension and adding 8 hex digits of its hash. */
function shorten(name: string, windows: boolean): string {
  const fits = (s: string): boolean => (windows ? s.length <= MAX_SEGMENT : byteLength(s) <= MAX_SEGMENT);
  if (fits(name)) return name;
  const hash = createHash('sha1').update(name, 'utf8').digest('hex').slice(0, 8);
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  let stem = Array.from(name.slice(0, name.length - ext.length));
  const tail = `~${hash}${ext}`;
  while (stem.length > 0 && !fits(stem.join('') + tail))
    stem = stem.slice(0, Math.max(0, stem.length - Math.max(1, Math.floor(stem.length / 8))));
  return stem.join('') + tail;
}

/** One segment made acceptable to Windows. */
export function windowsSafeSegment(seg: string): string {
  let s = seg.replace(WINDOWS_FORBIDDEN, '_');
  s = s.replace(/[. ]+$/, (m) => '_'.repeat(m.length));
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  return s;
}

function segmentsOf(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

/**
 * The local segments for one backup entry: `[domain, ...relativePath segments]`, or why it is
 * refused. The caller still joins them under the output folder and checks containment.
 */
export function safeEntrySegments(domain: string, relativePath: string, options: SafeNameOptions = {}): SafePath {
  const windows = options.windows ?? windowsNamesByDefault();
  if (domain.includes('\0') || relativePath.includes('\0')) return { ok: false, reason: 'contains a NUL character' };
  if (domain === '' || domain === '.' || domain === '..' || domain.includes('/'))
    return { ok: false, reason: `has an unusable domain name ${JSON.stringify(domain)}` };
  if (relativePath.startsWith('/')) return { ok: false, reason: 'is an absolute path' };
  if (/^[A-Za-z]:/.test(relativePath) && windows) return { ok: false, reason: 'starts with a drive letter' };
  const raw = [domain, ...segmentsOf(relativePath)];
  if (raw.some((s) => s === '..')) return { ok: false, reason: 'contains a ".." segment' };
  if (windows && raw.some((s) => s.split('\\').includes('..')))
    return { ok: false, reason: 'contains a "..\\" segment' };
  let changed = raw.length !== 1 + relativePath.split('/').filter((s) => s !== '').length;
  const segments = raw.map((s) => {
    let out = windows ? windowsSafeSegment(s) : s;
    out = shorten(out, windows);
    if (out !== s) changed = true;
    return out;
  });
  return { ok: true, segments, changed };
}

/** Why a whole local path is too long for this platform's rules, or undefined. */
export function pathTooLong(fullPath: string, options: SafeNameOptions = {}): string | undefined {
  const windows = options.windows ?? windowsNamesByDefault();
  const limit = windows ? MAX_PATH_WINDOWS : MAX_PATH_POSIX;
  const n = windows ? fullPath.length : byteLength(fullPath);
  return n > limit ? `would be ${n} characters long, more than ${limit}` : undefined;
}
