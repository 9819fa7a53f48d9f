/**
 * Reading a phone's photo library from Photos.sqlite and its -wal (copied together into a private
 * temporary folder, so the write-ahead log is applied; the newest photos are often only there).
 * Names and meanings from public forensic references (iLEAPP's Photos.sqlite parsers; docs/devices.md):
 * the assets table is ZGENERICASSET on iOS 11–13 and ZASSET from iOS 14; ZKIND 0 photo / 1 video;
 * ZKINDSUBTYPE 2 Live Photo; ZHIDDEN 1; ZTRASHEDSTATE 1 = Recently Deleted; ZCLOUDLOCALSTATE 1 or
 * ZSAVEDASSETTYPE 6 = an iCloud Photos asset; ZINTERNALRESOURCE rows of ZDATASTORESUBTYPE 1 (the
 * original) with ZLOCALAVAILABILITY -1 = the original is only in iCloud; albums through the
 * Z_<n>ASSETS join table (n changes between iOS versions, so it is found by its columns).
 * Everything read here is untrusted: names are checked where files are written (photos-names.ts).
 */
import Database from 'better-sqlite3';
import { IbackupError } from '../errors.js';

type Db = Database.Database;

/** Seconds between the Unix epoch and Apple's 2001-01-01 epoch. */
const APPLE_EPOCH = 978_307_200;

export type IcloudPhotosState = 'on' | 'off' | 'unknown';

export interface LibraryAsset {
  uuid: string;
  /** "DCIM/100APPLE" (relative to the media partition). */
  directory: string;
  filename: string;
  kind: 'photo' | 'video';
  live: boolean;
  hidden: boolean;
  trashed: boolean;
  edited: boolean;
  /** ms since 1970, or null when the library does not say. */
  created: number | null;
  /** The original is on the phone (false: only in iCloud; null: the library does not say). */
  local: boolean | null;
  /** Bytes of the original when recorded. */
  size: number | null;
  albums: string[];
}

export interface PhotoLibrary {
  assets: LibraryAsset[];
  icloudPhotos: IcloudPhotosState;
  table: 'ZASSET' | 'ZGENERICASSET';
}

export interface LibraryCounts {
  /** Photos in the library (Recently Deleted left out, hidden ones counted). */
  photos: number;
  videos: number;
  hidden: number;
  recentlyDeleted: number;
}

function columnsOf(db: Db, table: string): Set<string> {
  const rows = db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[];
  return new Set(rows.map((r) => r.name));
}

/** A column when the table has it, else a constant. */
function col(have: Set<string>, name: string, alias: string, fallback = 'NULL'): string {
  return `${have.has(name) ? `a.${name}` : fallback} AS ${alias}`;
}

interface AssetRow {
  pk: number;
  uuid: unknown;
  directory: unknown;
  filename: unknown;
  kind: unknown;
  subtype: unknown;
  hidden: unknown;
  trashed: unknown;
  edited: unknown;
  created: unknown;
  cloudState: unknown;
  savedType: unknown;
  size: unknown;
}

function assetRows(db: Db, table: string): AssetRow[] {
  const have = columnsOf(db, table);
  for (const needed of ['Z_PK', 'ZDIRECTORY', 'ZFILENAME', 'ZKIND'])
    if (!have.has(needed))
      throw new IbackupError('SCHEMA_UNKNOWN', {
        message: `The phone's photo library (Photos.sqlite) has a layout ibackup does not know (no ${table}.${needed}).`,
      });
  const attrs = columnsOf(db, 'ZADDITIONALASSETATTRIBUTES');
  const joinAttrs = have.has('ZADDITIONALATTRIBUTES') && attrs.has('Z_PK') && attrs.has('ZORIGINALFILESIZE');
  const sql = `SELECT a.Z_PK AS pk, ${col(have, 'ZUUID', 'uuid')}, a.ZDIRECTORY AS directory, a.ZFILENAME AS filename,
      a.ZKIND AS kind, ${col(have, 'ZKINDSUBTYPE', 'subtype')}, ${col(have, 'ZHIDDEN', 'hidden', '0')},
      ${col(have, 'ZTRASHEDSTATE', 'trashed', '0')}, ${col(have, 'ZHASADJUSTMENTS', 'edited', '0')},
      ${col(have, 'ZDATECREATED', 'created')}, ${col(have, 'ZCLOUDLOCALSTATE', 'cloudState')},
      ${col(have, 'ZSAVEDASSETTYPE', 'savedType')}, ${joinAttrs ? 'x.ZORIGINALFILESIZE' : 'NULL'} AS size
    FROM ${table} a ${joinAttrs ? 'LEFT JOIN ZADDITIONALASSETATTRIBUTES x ON x.Z_PK = a.ZADDITIONALATTRIBUTES' : ''}
    ORDER BY a.Z_PK`;
  return db.prepare(sql).all() as AssetRow[];
}

/** Asset → whether its original is on the phone, from ZINTERNALRESOURCE (absent: unknown). */
function localAvailability(db: Db): Map<number, boolean> {
  const out = new Map<number, boolean>();
  const have = columnsOf(db, 'ZINTERNALRESOURCE');
  if (!['ZASSET', 'ZDATASTORESUBTYPE', 'ZLOCALAVAILABILITY'].every((c) => have.has(c))) return out;
  const type = have.has('ZRESOURCETYPE') ? 'AND ZRESOURCETYPE IN (0, 1)' : '';
  const rows = db
    .prepare(
      `SELECT ZASSET AS asset, MIN(ZLOCALAVAILABILITY) AS local FROM ZINTERNALRESOURCE
       WHERE ZDATASTORESUBTYPE = 1 ${type} GROUP BY ZASSET`,
    )
    .all() as { asset: number; local: number }[];
  for (const r of rows) out.set(r.asset, r.local !== -1);
  return out;
}

/** Asset → album titles, through the Z_<n>ASSETS table that joins ZGENERICALBUM. */
function albumsOf(db: Db): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'Z_[0-9]*ASSETS'")
    .all() as {
    name: string;
  }[];
  const albumCols = columnsOf(db, 'ZGENERICALBUM');
  if (!albumCols.has('ZTITLE')) return out;
  for (const { name } of tables) {
    const cols = [...columnsOf(db, name)];
    const album = cols.find((c) => /^Z_\d+ALBUMS$/.test(c));
    const asset = cols.find((c) => /^Z_\d+ASSETS$/.test(c));
    if (album === undefined || asset === undefined) continue;
    const rows = db
      .prepare(
        `SELECT j."${asset}" AS asset, g.ZTITLE AS title FROM "${name}" j JOIN ZGENERICALBUM g ON g.Z_PK = j."${album}"`,
      )
      .all() as { asset: number; title: unknown }[];
    for (const r of rows) {
      if (typeof r.title !== 'string') continue;
      const list = out.get(r.asset) ?? [];
      list.push(r.title);
      out.set(r.asset, list);
    }
  }
  return out;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function toAsset(r: AssetRow, local: Map<number, boolean>, albums: Map<number, string[]>): LibraryAsset {
  const created = num(r.created);
  return {
    uuid: text(r.uuid),
    directory: text(r.directory),
    filename: text(r.filename),
    kind: r.kind === 1 ? 'video' : 'photo',
    live: r.subtype === 2,
    hidden: r.hidden === 1,
    trashed: r.trashed === 1,
    edited: r.edited === 1,
    created: created === null ? null : Math.round((created + APPLE_EPOCH) * 1000),
    local: local.get(r.pk) ?? null,
    size: num(r.size),
    albums: albums.get(r.pk) ?? [],
  };
}

function icloudState(rows: readonly AssetRow[]): IcloudPhotosState {
  const known = rows.filter((r) => r.cloudState !== null || r.savedType !== null);
  if (known.length === 0) return 'unknown';
  return known.some((r) => r.cloudState === 1 || r.savedType === 6) ? 'on' : 'off';
}

function readOpen(db: Db): PhotoLibrary {
  const table =
    columnsOf(db, 'ZASSET').size > 0 ? 'ZASSET' : columnsOf(db, 'ZGENERICASSET').size > 0 ? 'ZGENERICASSET' : undefined;
  if (table === undefined)
    throw new IbackupError('SCHEMA_UNKNOWN', {
      message: "The phone's photo library (Photos.sqlite) has neither a ZASSET nor a ZGENERICASSET table.",
    });
  const rows = assetRows(db, table);
  const local = localAvailability(db);
  const albums = albumsOf(db);
  return { assets: rows.map((r) => toAsset(r, local, albums)), icloudPhotos: icloudState(rows), table };
}

/**
 * Reads the library from a private copy of Photos.sqlite at `file` (its -wal, if any, beside it
 * as `<file>-wal`). The copy is opened for queries only.
 */
export function openPhotoLibrary(file: string): PhotoLibrary {
  let db: Db;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma('query_only = 1');
  } catch (err) {
    throw new IbackupError('SCHEMA_UNKNOWN', {
      message: 'Photos.sqlite is not a readable SQLite database.',
      cause: err,
    });
  }
  try {
    return readOpen(db);
  } catch (err) {
    if (err instanceof IbackupError) throw err;
    throw new IbackupError('SCHEMA_UNKNOWN', { message: 'Photos.sqlite could not be read.', cause: err });
  } finally {
    db.close();
  }
}

/** What the library holds (see LibraryCounts). */
export function libraryCounts(lib: PhotoLibrary): LibraryCounts {
  const counts = { photos: 0, videos: 0, hidden: 0, recentlyDeleted: 0 };
  for (const a of lib.assets) {
    if (a.trashed) {
      counts.recentlyDeleted++;
      continue;
    }
    if (a.kind === 'video') counts.videos++;
    else counts.photos++;
    if (a.hidden) counts.hidden++;
  }
  return counts;
}

/** Library items (Recently Deleted left out) whose original is only in iCloud. */
export function originalsNotOnDevice(lib: PhotoLibrary): number {
  return lib.assets.filter((a) => !a.trashed && a.local === false).length;
}
