/**
 * Where each entry of an extraction goes, decided before a file is written: a safe name for every
 * segment (`safeEntrySegments`), a target that stays inside the output folder, and a numbered name
 * for a file whose name collides with an earlier one. Links are only listed; what cannot be
 * written safely is reported as skipped.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { IbackupError } from '../errors.js';
import type { BackupEntry } from './browse.js';
import type { ExtractResult, SkipCode } from './extract.js';
import { pathTooLong, safeEntrySegments } from './safe-names.js';

/** One entry and where it is written. */
export interface Planned {
  entry: BackupEntry;
  /** `<domain>/<relativePath>` as recorded in the backup. */
  name: string;
  target: string;
}

export interface NameRules {
  /** Windows file-name rules. */
  windows: boolean;
  /** Names differing only in case are the same file. */
  caseless: boolean;
}

/** True when `p` is strictly inside `root`. */
export function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

/** The real path of the nearest existing ancestor, plus the rest (for a folder not made yet). */
function realish(p: string): string {
  const rest: string[] = [];
  let cur = path.resolve(p);
  for (;;) {
    try {
      return path.join(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return path.resolve(p);
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

/** Readers never write into a backup: USAGE when the output folder is the backup or inside it. */
export function refuseOutputInBackup(backupDir: string, outAbs: string): void {
  const backupReal = realish(backupDir);
  const outReal = realish(outAbs);
  if (outReal === backupReal || inside(backupReal, outReal)) {
    throw new IbackupError('USAGE', {
      message: `The output folder ${outAbs} is inside the backup ${backupDir}.`,
      remedy: 'Choose an output folder outside the backup with --out DIR: nothing is ever written into a backup.',
    });
  }
}

/** Records an entry that is not written, and why. */
export function skip(result: ExtractResult, code: SkipCode, name: string, message: string): void {
  result.skipped.push({ code, path: name, message });
}

/** "name (2).ext" for the n-th file whose name collides with an earlier one. */
function numbered(target: string, n: number): string {
  const ext = path.extname(target);
  const stem = ext === '' || ext === target ? target : target.slice(0, -ext.length);
  return `${stem} (${n})${ext}`;
}

/** The first free name for a file at `base` (itself, else numbered), taken for `name`. */
function freeName(base: string, name: string, caseless: boolean, taken: Map<string, string>): string {
  const key = (t: string): string => (caseless ? t.toLowerCase() : t);
  let target = base;
  for (let n = 2; taken.has(key(target)); n++) target = numbered(base, n);
  taken.set(key(target), name);
  return target;
}

/** Where one entry goes, or undefined when it is a link (listed) or refused (skipped). */
function planEntry(
  entry: BackupEntry,
  outAbs: string,
  rules: NameRules,
  result: ExtractResult,
  taken: Map<string, string>,
): Planned | undefined {
  const name = `${entry.domain}/${entry.relativePath}`;
  if (entry.type === 'symlink') {
    result.links.push({ path: name, target: entry.target ?? null });
    return undefined;
  }
  if (entry.type === 'unknown') {
    skip(result, 'NOT_A_FILE', name, 'is neither a file, a folder nor a link');
    return undefined;
  }
  const safe = safeEntrySegments(entry.domain, entry.relativePath, { windows: rules.windows });
  if (!safe.ok) {
    skip(result, 'UNSAFE_PATH', name, `refused: the path ${safe.reason}`);
    return undefined;
  }
  const base = path.join(outAbs, ...safe.segments);
  const tooLong = pathTooLong(base, { windows: rules.windows });
  if (!inside(outAbs, base) || tooLong !== undefined) {
    skip(result, 'UNSAFE_PATH', name, `refused: the path ${tooLong ?? 'leads outside the output folder'}`);
    return undefined;
  }
  const target = entry.type === 'file' ? freeName(base, name, rules.caseless, taken) : base;
  if (safe.changed || target !== base) result.renamed.push({ path: name, writtenAs: path.relative(outAbs, target) });
  return { entry, name, target };
}

/** The files and folders to write, in the order the backup lists them. */
export function planExtraction(
  entries: Iterable<BackupEntry>,
  outAbs: string,
  rules: NameRules,
  result: ExtractResult,
): { files: Planned[]; dirs: Planned[] } {
  const files: Planned[] = [];
  const dirs: Planned[] = [];
  const taken = new Map<string, string>();
  for (const entry of entries) {
    const planned = planEntry(entry, outAbs, rules, result, taken);
    if (planned !== undefined) (entry.type === 'file' ? files : dirs).push(planned);
  }
  return { files, dirs };
}
