import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { generatedRecord, type LibraryRecord } from '../../../src/emulator/content/photo-library.js';
import { photosDbFiles, type PhotoAsset } from '../../../src/emulator/content/photos-db.js';
import { exportPhotos } from '../../../src/export/photos-export.js';
import { readLibraryFrom, type PhotoFiles } from '../../../src/export/photos-files.js';
import {
  libraryCounts,
  openPhotoLibrary,
  originalsNotOnDevice,
  type PhotoLibrary,
} from '../../../src/export/photos-library.js';
import { createPrivateTempDir } from '../../../src/backup/temp.js';
import { editedName, safePhotoName } from '../../../src/export/photos-names.js';

/** The library from Photos.sqlite and its -wal held in memory, through a private copy. */
function readPhotoLibrary(main: Uint8Array, wal: Uint8Array | null): PhotoLibrary {
  const temp = createPrivateTempDir(undefined, 'ibackup-test-photos-');
  try {
    const file = join(temp.path, 'Photos.sqlite');
    writeFileSync(file, main, { mode: 0o600 });
    if (wal !== null && wal.length > 0) writeFileSync(`${file}-wal`, wal, { mode: 0o600 });
    return openPhotoLibrary(file);
  } finally {
    temp.remove();
  }
}

function asset(r: LibraryRecord, size = 1000): PhotoAsset {
  const stem = `IMG_${String(r.n).padStart(4, '0')}`;
  return {
    record: r,
    uuid: `00000000-0000-4000-8000-${String(r.n).padStart(12, '0')}`,
    directory: 'DCIM/100APPLE',
    filename: `${stem}.${r.format}`,
    created: 1_700_000_000 + r.n * 3600,
    modified: 1_700_000_000 + r.n * 3600,
    width: 40,
    height: 30,
    size,
  };
}

describe('reading Photos.sqlite', () => {
  for (const iosMajor of [13, 17]) {
    test(`iOS ${iosMajor} layout (${iosMajor < 14 ? 'ZGENERICASSET, Z_20ASSETS' : 'ZASSET, Z_28ASSETS'}): counts, cloud-only originals, albums, the -wal`, () => {
      const records = Array.from({ length: 10 }, (_, i) => generatedRecord(i + 1, 0, 'optimize', i >= 8));
      const files = photosDbFiles(
        records.map((r) => asset(r)),
        { seed: 1, icloud: 'optimize', iosMajor },
        (k) => `ALBUM-${k}`,
      );
      const lib = readPhotoLibrary(files.db, files.wal);
      assert.equal(lib.table, iosMajor < 14 ? 'ZGENERICASSET' : 'ZASSET');
      assert.equal(lib.icloudPhotos, 'on');
      const kept = records.filter((r) => !r.trashed);
      assert.deepEqual(libraryCounts(lib), {
        photos: kept.filter((r) => r.format !== 'MOV').length,
        videos: kept.filter((r) => r.format === 'MOV').length,
        hidden: kept.filter((r) => r.hidden).length,
        recentlyDeleted: records.length - kept.length,
      });
      assert.equal(originalsNotOnDevice(lib), kept.filter((r) => !r.local).length);
      assert.deepEqual(
        lib.assets.map((a) => a.live),
        records.map((r) => r.live),
      );
      assert.deepEqual(lib.assets[0]?.albums, ['Vacances ☀️']);
      assert.deepEqual(lib.assets[1]?.albums, ['Family']);
      assert.equal(lib.assets[9]?.created, (1_700_000_000 + 10 * 3600) * 1000);
      // Without its -wal the library misses the newest assets.
      assert.equal(readPhotoLibrary(files.db, null).assets.length, records.length - 2);
    });
  }

  test('iCloud Photos off, and a library that does not say', () => {
    const records = [generatedRecord(1, 0, 'off', false), generatedRecord(2, 0, 'off', false)];
    const off = photosDbFiles(
      records.map((r) => asset(r)),
      { seed: 1, icloud: 'off', iosMajor: 17 },
      () => 'A',
    );
    assert.equal(readPhotoLibrary(off.db, off.wal).icloudPhotos, 'off');
    const dir = mkdtempSync(join(tmpdir(), 'ibackup-test-plain-'));
    try {
      const db = new Database(join(dir, 'p.sqlite'));
      db.exec(
        "CREATE TABLE ZASSET (Z_PK INTEGER PRIMARY KEY, ZDIRECTORY, ZFILENAME, ZKIND); INSERT INTO ZASSET VALUES (1, 'DCIM/100APPLE', 'IMG_0001.JPG', 0)",
      );
      db.close();
      const lib = readPhotoLibrary(readFileSync(join(dir, 'p.sqlite')), null);
      assert.equal(lib.icloudPhotos, 'unknown');
      assert.equal(lib.assets[0]?.local, null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => readPhotoLibrary(new TextEncoder().encode('not a database at all, not even close'), null), {
      code: 'SCHEMA_UNKNOWN',
    });
  });
});

describe('reading the library from a source', () => {
  test('Photos.sqlite and its -wal are streamed to a private copy, never read whole into memory', async () => {
    const records = Array.from({ length: 10 }, (_, i) => generatedRecord(i + 1, 0, 'optimize', i >= 8));
    const db = photosDbFiles(
      records.map((r) => asset(r)),
      { seed: 1, icloud: 'optimize', iosMajor: 17 },
      (k) => `ALBUM-${k}`,
    );
    const served: Record<string, Uint8Array> = {
      'PhotoData/Photos.sqlite': db.db,
      'PhotoData/Photos.sqlite-wal': db.wal ?? new Uint8Array(),
    };
    const files: PhotoFiles = {
      where: 'device',
      size: (p) => Promise.resolve(served[p]?.length ?? null),
      readSmall: () => Promise.reject(new Error('the library is streamed, not read whole')),
      async *chunks(p) {
        const bytes = served[p] as Uint8Array;
        for (let at = 0; at < bytes.length; at += 1000) yield bytes.subarray(at, at + 1000);
      },
    };
    const parent = mkdtempSync(join(tmpdir(), 'ibackup-test-library-'));
    try {
      const lib = await readLibraryFrom(files, parent);
      assert.deepEqual(lib, readPhotoLibrary(db.db, db.wal), 'the same library as from the bytes, -wal included');
      assert.deepEqual(await readdir(parent), [], 'the private copy is gone');
      await assert.rejects(readLibraryFrom({ ...files, size: () => Promise.resolve(null) }, parent), {
        code: 'EXPORT_SOURCE_MISSING',
      });
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

/** A source serving every library path it is asked for with fixed bytes. */
function fakeFiles(bytes: Uint8Array): PhotoFiles & { asked: string[] } {
  const asked: string[] = [];
  return {
    where: 'device',
    asked,
    size: (p) => {
      asked.push(p);
      return Promise.resolve(bytes.length);
    },
    readSmall: () => Promise.resolve(null),
    async *chunks() {
      yield bytes;
    },
  };
}

describe('exported names', () => {
  test('hostile names from the phone (.., /, \\, NUL, reserved) never leave the folder', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'ibackup-test-hostile-'));
    const out = join(parent, 'out');
    try {
      const names = [
        '../../evil.JPG',
        'a/b/c.JPG',
        '..',
        '.',
        '',
        'x\u0000y.JPG',
        '..\\..\\win.JPG',
        'CON.JPG',
        '/etc/passwd',
        '.hidden.JPG',
      ];
      const dirs = ['DCIM/100APPLE', '../../..', '/abs', 'DCIM/100APPLE/../..'];
      const assets = names.flatMap((filename, i) =>
        dirs.map((directory, j) => ({
          uuid: `U-${i}-${j}/../x`,
          directory,
          filename,
          kind: 'photo' as const,
          live: true,
          hidden: false,
          trashed: false,
          edited: true,
          created: Date.UTC(2024, 4, 1),
          local: true,
          size: 3,
          albums: [],
        })),
      );
      const files = fakeFiles(new Uint8Array([1, 2, 3]));
      const r = await exportPhotos({ assets, icloudPhotos: 'off', table: 'ZASSET' }, files, { out, edited: true });
      for (const p of files.asked)
        assert.ok(!p.split('/').includes('..') && !p.startsWith('/') && !p.includes('\u0000'), p);
      const written = (await readdir(out, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
      assert.ok(r.copied > 0);
      for (const e of written) {
        const full = resolve(e.parentPath, e.name);
        assert.ok(full.startsWith(resolve(out) + sep), `${full} inside`);
        assert.ok(
          !relative(out, full)
            .split(sep)
            .some((s) => s === '..' || s === '.'),
        );
      }
      assert.deepEqual(await readdir(parent), ['out'], 'nothing beside the folder');
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  test('an asset whose original is only in iCloud is left whole: counted once, its Live Photo video not reported', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ibackup-test-cloud-'));
    try {
      const base = {
        directory: 'DCIM/100APPLE',
        kind: 'photo' as const,
        live: true,
        hidden: false,
        trashed: false,
        edited: true,
        created: Date.UTC(2024, 4, 1),
        size: 3,
        albums: [],
      };
      const assets = [
        { ...base, uuid: 'CLOUD', filename: 'IMG_0001.HEIC', local: false },
        { ...base, uuid: 'HERE', filename: 'IMG_0002.HEIC', local: true },
      ];
      const files = fakeFiles(new Uint8Array([7, 8, 9]));
      const r = await exportPhotos({ assets, icloudPhotos: 'on', table: 'ZASSET' }, files, { out, edited: true });
      assert.deepEqual(
        { copied: r.copied, notOnDevice: r.notOnDevice, problems: r.problems },
        { copied: 3, notOnDevice: 1, problems: [] },
      );
      assert.ok(!files.asked.some((p) => p.includes('IMG_0001')), 'nothing of the cloud-only asset is asked for');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  test('stopped in the middle of a file (Ctrl-C): no partial file; the next run copies the rest', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ibackup-test-stop-'));
    try {
      const assets = [1, 2, 3].map((n) => ({
        uuid: `U${n}`,
        directory: 'DCIM/100APPLE',
        filename: `IMG_000${n}.JPG`,
        kind: 'photo' as const,
        live: false,
        hidden: false,
        trashed: false,
        edited: false,
        created: Date.UTC(2024, 4, n),
        local: true,
        size: 4,
        albums: [],
      }));
      const lib = { assets, icloudPhotos: 'off' as const, table: 'ZASSET' as const };
      const ac = new AbortController();
      let chunks = 0;
      const slow: PhotoFiles = {
        ...fakeFiles(new Uint8Array(0)),
        async *chunks() {
          for (const b of [
            [1, 2],
            [3, 4],
          ]) {
            if (++chunks === 4) ac.abort(); // the second file, after its first half
            yield new Uint8Array(b);
          }
        },
      };
      await assert.rejects(exportPhotos(lib, slow, { out, signal: ac.signal }));
      const after = (await readdir(out, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
      assert.ok(!after.some((e) => e.name.endsWith('.partial')), after.map((e) => e.name).join(', '));
      assert.equal(after.filter((e) => e.name.endsWith('.JPG')).length, 1);
      // What an export killed outright (kill -9) would leave: removed by the next run.
      const stale = join(out, '2024', '05', '.IMG_0009.JPG.0badcafe.partial');
      await writeFile(stale, 'half');
      const r = await exportPhotos(lib, fakeFiles(new Uint8Array([1, 2, 3, 4])), { out });
      await assert.rejects(stat(stale), { code: 'ENOENT' });
      assert.deepEqual({ copied: r.copied, skipped: r.skipped }, { copied: 2, skipped: 1 });
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  test('the same name in one month: a suffix for every file of the asset; --since and --album choose', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ibackup-test-names-'));
    try {
      const one = (uuid: string, directory: string, day: number, albums: string[]) => ({
        uuid,
        directory,
        filename: 'IMG_0001.HEIC',
        kind: 'photo' as const,
        live: true,
        hidden: false,
        trashed: false,
        edited: false,
        created: new Date(2024, 4, day, 12).getTime(),
        local: true,
        size: 3,
        albums,
      });
      const lib = {
        assets: [one('A', 'DCIM/100APPLE', 2, ['Family']), one('B', 'DCIM/101APPLE', 20, ['Vacances ☀️'])],
        icloudPhotos: 'off' as const,
        table: 'ZASSET' as const,
      };
      const files = fakeFiles(new Uint8Array([1, 2, 3]));
      const album = await exportPhotos(lib, files, { out, album: 'vacances ☀️' });
      assert.equal(album.assets, 1);
      const since = await exportPhotos(lib, files, { out, since: new Date(2024, 4, 10).getTime() });
      assert.deepEqual(
        { assets: since.assets, copied: since.copied, skipped: since.skipped },
        { assets: 1, copied: 0, skipped: 2 },
      );
      const all = await exportPhotos(lib, files, { out });
      assert.equal(all.copied, 2);
      const names = (await readdir(join(out, '2024', '05'))).filter((n) => !n.startsWith('.')).sort();
      assert.deepEqual(names, ['IMG_0001 (1).HEIC', 'IMG_0001 (1).MOV', 'IMG_0001.HEIC', 'IMG_0001.MOV']);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  test('--edited later: the edit goes beside its original, never over a file already there', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ibackup-test-edit-'));
    try {
      const asset = {
        uuid: 'E1',
        directory: 'DCIM/100APPLE',
        filename: 'IMG_0004.JPG',
        kind: 'photo' as const,
        live: false,
        hidden: false,
        trashed: false,
        edited: true,
        created: new Date(2023, 0, 9, 12).getTime(),
        local: true,
        size: 3,
        albums: [],
      };
      const lib = { assets: [asset], icloudPhotos: 'off' as const, table: 'ZASSET' as const };
      const files = fakeFiles(new Uint8Array([4, 5, 6]));
      assert.equal((await exportPhotos(lib, files, { out })).copied, 1);
      await writeFile(join(out, '2023', '01', 'IMG_E0004.jpg'), 'mine');
      const r = await exportPhotos(lib, files, { out, edited: true });
      assert.deepEqual({ copied: r.copied, skipped: r.skipped }, { copied: 1, skipped: 1 });
      assert.deepEqual((await readdir(join(out, '2023', '01'))).sort(), [
        'IMG_0004.JPG',
        'IMG_E0004 (1).jpg',
        'IMG_E0004.jpg',
      ]);
      assert.equal(await readFile(join(out, '2023', '01', 'IMG_E0004.jpg'), 'utf8'), 'mine');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  test('safe names, edited names', () => {
    assert.equal(safePhotoName('..', 'fallback.JPG'), 'fallback.JPG');
    assert.equal(safePhotoName('a/b\\c\u0000.JPG', 'f'), 'a_b_c_.JPG');
    assert.equal(safePhotoName('.hidden.JPG', 'f'), 'hidden.JPG');
    assert.equal(editedName('IMG_0001.HEIC'), 'IMG_E0001.jpg');
    assert.equal(editedName('Photo.PNG'), 'Photo_edited.jpg');
  });
});
