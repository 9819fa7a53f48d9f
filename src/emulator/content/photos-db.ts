/**
 * Photos.sqlite as the phone keeps it: a Core Data store in WAL mode, so the newest changes sit in
 * Photos.sqlite-wal until the next checkpoint and a reader that copies only the main file misses
 * them. Table and column names per iOS generation, from iLEAPP's Photos.sqlite parsers
 * (scripts/artifacts/Ph001…Ph051, Scott Koenig): the assets table is ZGENERICASSET on iOS 11–13
 * and ZASSET from iOS 14; ZKIND 0 photo / 1 video, ZKINDSUBTYPE 2 Live Photo, ZHIDDEN 1 hidden,
 * ZTRASHEDSTATE 1 in Recently Deleted, ZCLOUDLOCALSTATE 1 when iCloud Photos is on (0 when it is
 * off), ZSAVEDASSETTYPE 3 a local asset / 6 a Cloud Photo Library asset, ZCLOUDASSETGUID set for
 * iCloud assets; ZADDITIONALASSETATTRIBUTES.ZORIGINALFILENAME/ZORIGINALFILESIZE; the originals'
 * rows of ZINTERNALRESOURCE (ZASSET → asset, ZDATASTORESUBTYPE 1 original size, ZRESOURCETYPE
 * 0 photo / 1 video / 3 Live Photo video, ZLOCALAVAILABILITY 1 on the phone / -1 only in iCloud,
 * ZREMOTEAVAILABILITY 1 in iCloud); albums in ZGENERICALBUM (ZKIND 2 a user album, ZTITLE) joined
 * through Z_20ASSETS (Z_20ALBUMS, Z_27ASSETS) on iOS 11–13 and Z_28ASSETS (Z_28ALBUMS, Z_3ASSETS)
 * on iOS 17 — the numbers change between versions, which readers find by the table's shape.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APPLE_EPOCH } from './model.js';
import type { IcloudPhotos, LibraryRecord } from './photo-library.js';
import { insertRows, type Db } from './sqlite.js';

/** One asset as Photos.sqlite lists it. */
export interface PhotoAsset {
  record: LibraryRecord;
  uuid: string;
  /** "DCIM/100APPLE". */
  directory: string;
  filename: string;
  created: number;
  modified: number;
  width: number;
  height: number;
  /** Bytes of the original (on the phone or in iCloud). */
  size: number;
}

export interface PhotosDbOptions {
  seed: number;
  icloud: IcloudPhotos;
  iosMajor: number;
}

export interface PhotosDbFiles {
  db: Uint8Array;
  wal: Uint8Array;
}

/** The user albums: a title and which assets (by position) belong to it. */
const ALBUMS: readonly { title: string; holds: (i: number) => boolean }[] = [
  { title: 'Vacances ☀️', holds: (i) => i % 3 === 0 },
  { title: 'Family', holds: (i) => i % 4 === 1 },
];

interface Names {
  assets: string;
  join: string;
  joinAlbum: string;
  joinAsset: string;
}

function names(iosMajor: number): Names {
  return iosMajor >= 14
    ? { assets: 'ZASSET', join: 'Z_28ASSETS', joinAlbum: 'Z_28ALBUMS', joinAsset: 'Z_3ASSETS' }
    : { assets: 'ZGENERICASSET', join: 'Z_20ASSETS', joinAlbum: 'Z_20ALBUMS', joinAsset: 'Z_27ASSETS' };
}

function schema(n: Names): string {
  return `CREATE TABLE ${n.assets} (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZKIND INTEGER, ZKINDSUBTYPE INTEGER,
       ZFAVORITE INTEGER, ZHIDDEN INTEGER, ZTRASHEDSTATE INTEGER, ZTRASHEDDATE TIMESTAMP, ZCLOUDLOCALSTATE INTEGER,
       ZSAVEDASSETTYPE INTEGER, ZCOMPLETE INTEGER, ZVISIBILITYSTATE INTEGER, ZHASADJUSTMENTS INTEGER, ZWIDTH INTEGER,
       ZHEIGHT INTEGER, ZADDITIONALATTRIBUTES INTEGER, ZDATECREATED TIMESTAMP, ZMODIFICATIONDATE TIMESTAMP,
       ZADDEDDATE TIMESTAMP, ZDURATION FLOAT, ZDIRECTORY VARCHAR, ZFILENAME VARCHAR, ZUNIFORMTYPEIDENTIFIER VARCHAR,
       ZUUID VARCHAR, ZCLOUDASSETGUID VARCHAR);
     CREATE TABLE ZADDITIONALASSETATTRIBUTES (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZASSET INTEGER,
       ZORIGINALFILESIZE INTEGER, ZORIGINALFILENAME VARCHAR, ZTIMEZONENAME VARCHAR);
     CREATE TABLE ZINTERNALRESOURCE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZASSET INTEGER,
       ZRESOURCETYPE INTEGER, ZDATASTORESUBTYPE INTEGER, ZLOCALAVAILABILITY INTEGER, ZREMOTEAVAILABILITY INTEGER,
       ZDATALENGTH INTEGER, ZFINGERPRINT VARCHAR);
     CREATE TABLE ZGENERICALBUM (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZKIND INTEGER, ZTITLE VARCHAR,
       ZUUID VARCHAR, ZTRASHEDSTATE INTEGER);
     CREATE TABLE ${n.join} (${n.joinAlbum} INTEGER, ${n.joinAsset} INTEGER, Z_FOK_${n.joinAsset.slice(2)} INTEGER,
       PRIMARY KEY (${n.joinAlbum}, ${n.joinAsset}));
     CREATE INDEX ${n.assets}_ZDATECREATED ON ${n.assets} (ZDATECREATED);`;
}

const UTI: Record<LibraryRecord['format'], string> = {
  JPG: 'public.jpeg',
  HEIC: 'public.heic',
  MOV: 'com.apple.quicktime-movie',
};

function assetRow(a: PhotoAsset, pk: number, o: PhotosDbOptions): Record<string, string | number | null> {
  const r = a.record;
  const video = r.format === 'MOV';
  const cloud = o.icloud !== 'off';
  return {
    Z_PK: pk,
    Z_ENT: 3,
    Z_OPT: 1,
    ZKIND: video ? 1 : 0,
    ZKINDSUBTYPE: video ? 100 : r.live ? 2 : 0,
    ZFAVORITE: pk % 7 === 0 ? 1 : 0,
    ZHIDDEN: r.hidden ? 1 : 0,
    ZTRASHEDSTATE: r.trashed ? 1 : 0,
    ZTRASHEDDATE: r.trashed ? a.modified - APPLE_EPOCH : null,
    ZCLOUDLOCALSTATE: cloud ? 1 : 0,
    ZSAVEDASSETTYPE: cloud ? 6 : 3,
    ZCOMPLETE: 1,
    ZVISIBILITYSTATE: 0,
    ZHASADJUSTMENTS: r.edited ? 1 : 0,
    ZWIDTH: a.width,
    ZHEIGHT: a.height,
    ZADDITIONALATTRIBUTES: pk,
    ZDATECREATED: a.created - APPLE_EPOCH,
    ZMODIFICATIONDATE: a.modified - APPLE_EPOCH,
    ZADDEDDATE: a.created - APPLE_EPOCH,
    ZDURATION: video ? 12.5 : r.live ? 2.9 : 0,
    ZDIRECTORY: a.directory,
    ZFILENAME: a.filename,
    ZUNIFORMTYPEIDENTIFIER: UTI[r.format],
    ZUUID: a.uuid,
    ZCLOUDASSETGUID: cloud ? a.uuid.split('').reverse().join('') : null,
  };
}

/** The original's rows of ZINTERNALRESOURCE (and the Live Photo's video). */
function resourceRows(a: PhotoAsset, pk: number, o: PhotosDbOptions, nextPk: () => number): Record<string, unknown>[] {
  const r = a.record;
  const cloud = o.icloud !== 'off';
  const row = (type: number) => ({
    Z_PK: nextPk(),
    Z_ENT: 40,
    Z_OPT: 1,
    ZASSET: pk,
    ZRESOURCETYPE: type,
    ZDATASTORESUBTYPE: 1,
    ZLOCALAVAILABILITY: r.local ? 1 : -1,
    ZREMOTEAVAILABILITY: cloud ? 1 : 0,
    ZDATALENGTH: a.size,
    ZFINGERPRINT: cloud ? `A${a.uuid.replace(/-/g, '').slice(0, 27)}` : null,
  });
  const rows = [row(r.format === 'MOV' ? 1 : 0)];
  if (r.live) rows.push(row(3));
  return rows;
}

function insertAssets(db: Db, n: Names, assets: readonly PhotoAsset[], from: number, o: PhotosDbOptions): void {
  let resourcePk = from * 2;
  const nextPk = (): number => ++resourcePk;
  for (let i = from; i < assets.length; i++) {
    const a = assets[i] as PhotoAsset;
    const pk = i + 1;
    insertRows(db, n.assets, [assetRow(a, pk, o)]);
    insertRows(db, 'ZADDITIONALASSETATTRIBUTES', [
      {
        Z_PK: pk,
        Z_ENT: 1,
        Z_OPT: 1,
        ZASSET: pk,
        ZORIGINALFILESIZE: a.size,
        ZORIGINALFILENAME: a.filename,
        ZTIMEZONENAME: 'Europe/Paris',
      },
    ]);
    insertRows(db, 'ZINTERNALRESOURCE', resourceRows(a, pk, o, nextPk) as Record<string, number | string | null>[]);
    for (const [k, album] of ALBUMS.entries())
      if (album.holds(i))
        insertRows(db, n.join, [{ [n.joinAlbum]: k + 1, [n.joinAsset]: pk, [`Z_FOK_${n.joinAsset.slice(2)}`]: pk }]);
  }
}

/** The WAL checksum (sqlite.org/fileformat2.html §4.3) over 8-byte steps, from (s0, s1). */
function walChecksum(view: DataView, from: number, to: number, little: boolean, s: [number, number]): [number, number] {
  let [s0, s1] = s;
  for (let at = from; at < to; at += 8) {
    s0 = (s0 + view.getUint32(at, little) + s1) >>> 0;
    s1 = (s1 + view.getUint32(at + 4, little) + s0) >>> 0;
  }
  return [s0, s1];
}

/**
 * SQLite salts a WAL with random numbers; the same library must give the same bytes, so the
 * salts are replaced by fixed ones and every checksum recomputed (sqlite.org/fileformat2.html §4).
 */
function fixedSalts(wal: Uint8Array): Uint8Array {
  if (wal.length < 32) return wal;
  const out = Uint8Array.from(wal);
  const view = new DataView(out.buffer);
  const little = view.getUint32(0) === 0x377f0682;
  const pageSize = view.getUint32(8);
  view.setUint32(16, 0x1b0c5a17);
  view.setUint32(20, 0x2f7e4d31);
  let sum = walChecksum(view, 0, 24, little, [0, 0]);
  view.setUint32(24, sum[0]);
  view.setUint32(28, sum[1]);
  for (let frame = 32; frame + 24 + pageSize <= out.length; frame += 24 + pageSize) {
    view.setUint32(frame + 8, view.getUint32(16));
    view.setUint32(frame + 12, view.getUint32(20));
    sum = walChecksum(view, frame, frame + 8, little, sum);
    sum = walChecksum(view, frame + 24, frame + 24 + pageSize, little, sum);
    view.setUint32(frame + 16, sum[0]);
    view.setUint32(frame + 20, sum[1]);
  }
  return out;
}

/** How many of the newest assets are still only in the write-ahead log. */
export const WAL_ASSETS = 2;

/** Photos.sqlite and its -wal for a library (asset order = Z_PK order). */
export function photosDbFiles(
  assets: readonly PhotoAsset[],
  o: PhotosDbOptions,
  albumUuid: (k: number) => string,
): PhotosDbFiles {
  const dir = mkdtempSync(join(tmpdir(), 'ibackup-photosdb-'));
  const path = join(dir, 'Photos.sqlite');
  const db = new Database(path);
  try {
    db.pragma('page_size = 4096');
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    const n = names(o.iosMajor);
    const split = Math.max(0, assets.length - WAL_ASSETS);
    db.exec(schema(n));
    db.transaction(() => {
      insertRows(
        db,
        'ZGENERICALBUM',
        ALBUMS.map((a, k) => ({
          Z_PK: k + 1,
          Z_ENT: 2,
          Z_OPT: 1,
          ZKIND: 2,
          ZTITLE: a.title,
          ZUUID: albumUuid(k),
          ZTRASHEDSTATE: 0,
        })),
      );
      insertAssets(db, n, assets.slice(0, split), 0, o);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.transaction(() => insertAssets(db, n, assets, split, o))();
    return { db: new Uint8Array(readFileSync(path)), wal: fixedSalts(new Uint8Array(readFileSync(`${path}-wal`))) };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
