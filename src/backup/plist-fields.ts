/**
 * Typed access to the top-level plists of a backup (Info.plist, Manifest.plist, Status.plist):
 * parse, then read each key with its expected type. Any problem throws IbackupError
 * BACKUP_CORRUPT naming the file and the key.
 */
import { readFile } from 'node:fs/promises';
import { IbackupError, isIbackupError } from '../errors.js';
import { describePlistType, isPlistDict, parsePlist } from '../protocol/plist/index.js';
import type { PlistDict, PlistValue } from '../protocol/plist/index.js';

/** A top-level backup plist is small; anything larger is refused before reading it whole. */
export const MAX_BACKUP_PLIST_BYTES = 256 << 20;

export function corrupt(file: string, problem: string, cause?: unknown): IbackupError {
  return new IbackupError('BACKUP_CORRUPT', {
    message: `${file}: ${problem}.`,
    details: { file },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Parses plist bytes (binary or XML) whose top level must be a dict. */
export function parseDictPlist(bytes: Uint8Array, file: string): PlistDict {
  let v: PlistValue;
  try {
    v = parsePlist(bytes);
  } catch (err) {
    const why = isIbackupError(err) ? err.message : 'unreadable';
    throw corrupt(file, `not a valid plist (${why})`, err);
  }
  if (!isPlistDict(v)) throw corrupt(file, `the top level is ${describePlistType(v)}, not a dict`);
  return v;
}

/** Reads a whole plist file; a missing file throws ENOENT as is (callers decide what it means). */
export async function readPlistFile(filePath: string, file: string): Promise<Uint8Array> {
  const bytes = await readFile(filePath);
  if (bytes.length > MAX_BACKUP_PLIST_BYTES) throw corrupt(file, `${bytes.length} bytes is too large`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Typed getters over one dict; every getter returns undefined for an absent key. */
export class Fields {
  constructor(
    readonly raw: PlistDict,
    readonly file: string,
    readonly prefix = '',
  ) {}

  private bad(key: string, want: string, v: PlistValue): never {
    throw corrupt(this.file, `key "${this.prefix}${key}" should be ${want}, found ${describePlistType(v)}`);
  }

  private get(key: string): PlistValue | undefined {
    return Object.prototype.hasOwnProperty.call(this.raw, key) ? this.raw[key] : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  string(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined || typeof v === 'string') return v;
    return this.bad(key, 'a string', v);
  }

  bool(key: string): boolean | undefined {
    const v = this.get(key);
    if (v === undefined || typeof v === 'boolean') return v;
    return this.bad(key, 'a boolean', v);
  }

  date(key: string): Date | undefined {
    const v = this.get(key);
    if (v === undefined || v instanceof Date) return v;
    return this.bad(key, 'a date', v);
  }

  data(key: string): Uint8Array | undefined {
    const v = this.get(key);
    if (v === undefined || v instanceof Uint8Array) return v;
    return this.bad(key, 'data', v);
  }

  integer(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined || typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    return this.bad(key, 'an integer', v);
  }

  dict(key: string): PlistDict | undefined {
    const v = this.get(key);
    if (v === undefined || isPlistDict(v)) return v;
    return this.bad(key, 'a dict', v);
  }

  fields(key: string): Fields | undefined {
    const d = this.dict(key);
    return d === undefined ? undefined : new Fields(d, this.file, `${this.prefix}${key}.`);
  }

  stringArray(key: string): string[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.bad(key, 'an array of strings', v);
    return v.map((item, i) => (typeof item === 'string' ? item : this.bad(`${key}[${i}]`, 'a string', item)));
  }

  /** A dict whose values are all dicts, as name → Fields. */
  dictOfDicts(key: string): Map<string, Fields> | undefined {
    return this.mapOf(key, (sub, name) => sub.fields(name));
  }

  /** A dict whose values are all data, as name → bytes. */
  dictOfData(key: string): Map<string, Uint8Array> | undefined {
    return this.mapOf(key, (sub, name) => sub.data(name));
  }

  /** A dict read value by value with `read` (each value checked as `read` checks it), as name → value. */
  private mapOf<T>(key: string, read: (sub: Fields, name: string) => T | undefined): Map<string, T> | undefined {
    const d = this.dict(key);
    if (d === undefined) return undefined;
    const out = new Map<string, T>();
    const sub = new Fields(d, this.file, `${this.prefix}${key}.`);
    for (const name of Object.keys(d)) {
      const v = read(sub, name);
      if (v !== undefined) out.set(name, v);
    }
    return out;
  }
}
