import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { DeviceContent, S_IFDIR, S_IFLNK, S_IFREG, type DeviceEntry } from '../../../src/emulator/content/index.js';
import { builtInProfile } from '../../../src/emulator/profile.js';
import { withPhotosDb } from '../../support/photos-db.js';

const tiny = (): DeviceContent => DeviceContent.build(builtInProfile('tiny').content);
const typicalSpec = builtInProfile('typical').content;

function must(c: DeviceContent, domain: string, path: string): DeviceEntry {
  const e = c.get(domain, path);
  assert.ok(e !== undefined, `${domain} ${path} exists`);
  return e;
}

async function sha1(c: DeviceContent, e: DeviceEntry): Promise<string> {
  const h = createHash('sha1');
  for await (const chunk of c.openContent(e, { chunkSize: 65_536 })) h.update(chunk);
  return h.digest('hex');
}

async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ibackup-content-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('catalogue', () => {
  test('two builds from the same spec are identical, entries and bytes', async () => {
    const a = [...tiny().entries()];
    const c2 = tiny();
    const b = [...c2.entries()];
    assert.deepEqual(a, b);
    const c1 = tiny();
    // Every file but the photos (rendering them is slow; they have their own tests), and two photos.
    const photos = a.filter((x) => x.source === 'photo').slice(0, 2);
    for (const e of a.filter((x) => x.kind === 'file' && x.source !== 'photo').concat(photos)) {
      assert.deepEqual(await c1.digest(e), await c2.digest(e), e.relativePath);
    }
  });

  test('another seed gives other content', async () => {
    const a = tiny();
    const b = DeviceContent.build({ ...builtInProfile('tiny').content, seed: 99 });
    const path = ['HomeDomain', 'Library/Cookies/Cookies.binarycookies'] as const;
    assert.notDeepEqual(await a.digest(must(a, ...path)), await b.digest(must(b, ...path)));
  });

  test('entries are sorted by domain then path, with a directory for every parent', () => {
    const c = tiny();
    const all = [...c.entries()];
    for (let i = 1; i < all.length; i++) {
      const p = all[i - 1] as DeviceEntry;
      const e = all[i] as DeviceEntry;
      assert.ok(
        p.domain < e.domain || (p.domain === e.domain && p.relativePath < e.relativePath),
        `${e.relativePath} order`,
      );
    }
    for (const e of all) {
      const parts = e.relativePath.split('/');
      for (let k = 0; k < parts.length; k++) {
        const parent = k === 0 ? '' : parts.slice(0, k).join('/');
        if (parent === e.relativePath) continue;
        assert.equal(c.get(e.domain, parent)?.kind, 'directory', `${e.domain} "${parent}" is a directory`);
      }
    }
  });

  test('sizes and counts are within 20% of the tiny and typical targets', () => {
    for (const spec of [builtInProfile('tiny').content, typicalSpec]) {
      const s = DeviceContent.build(spec).stats();
      assert.ok(Math.abs(s.files - spec.files) <= spec.files * 0.2, `files ${s.files} vs ${spec.files}`);
      assert.ok(Math.abs(s.bytes - spec.bytes) <= spec.bytes * 0.2, `bytes ${s.bytes} vs ${spec.bytes}`);
    }
  });

  test('modes, owners, kinds and protection classes are plausible', () => {
    const c = tiny();
    let privateFiles = 0;
    for (const e of c.entries()) {
      const type = e.mode & 0o170000;
      if (e.kind === 'file') {
        assert.equal(type, S_IFREG);
        assert.ok(e.protectionClass >= 1 && e.protectionClass <= 4, `${e.relativePath} class ${e.protectionClass}`);
        if ((e.mode & 0o777) === 0o600) privateFiles++;
      } else {
        assert.equal(e.size, 0);
        assert.equal(type, e.kind === 'directory' ? S_IFDIR : S_IFLNK);
      }
      assert.ok(e.birth <= e.mtime && e.mtime <= e.ctime, `${e.relativePath} times`);
    }
    assert.ok(privateFiles > 0);
    assert.equal(must(c, 'HomeDomain', 'Library/SMS/sms.db').uid, 501);
    assert.equal(must(c, 'RootDomain', 'Library/Preferences/com.apple.MobileBackup.plist').uid, 0);
    assert.equal(must(c, 'WirelessDomain', 'Library/Databases/DataUsage.sqlite').uid, 25);
    const inodes = new Set([...c.entries()].map((e) => e.inode));
    assert.equal(inodes.size, c.stats().entries);
  });

  test('unicode names are NFC, symlinks have targets, empty files and xattrs exist', async () => {
    const c = tiny();
    const cafe = must(
      c,
      'AppDomainGroup-group.com.apple.FileProvider.LocalStorage',
      'File Provider Storage/Café – 日本.txt',
    );
    assert.equal(cafe.relativePath, cafe.relativePath.normalize('NFC'));
    assert.ok(
      c.get(cafe.domain, 'File Provider Storage/Cafe\u0301 – 日本.txt') !== undefined,
      'an NFD lookup finds it',
    );
    assert.ok(
      [...c.entries()].some((e) => /\p{Extended_Pictographic}/u.test(e.relativePath)),
      'an emoji name',
    );
    assert.equal(new TextDecoder().decode(cafe.extendedAttributes['com.apple.TextEncoding']), 'utf-8;134217984');
    const link = must(c, 'DatabaseDomain', 'timezone/localtime');
    assert.equal(link.kind, 'symlink');
    assert.equal(link.target, '/usr/share/zoneinfo/Europe/Paris');
    const empty = [...c.entries()].filter((e) => e.kind === 'file' && e.size === 0);
    assert.ok(empty.length >= 2);
    for (const e of empty) assert.equal((await c.read(e, 0, 10)).length, 0);
    assert.ok(must(c, 'HomeDomain', '').kind === 'directory', 'domain root row');
  });

  test('encrypted-only entries: the keychain and Health', () => {
    const c = tiny();
    assert.equal(must(c, 'KeychainDomain', 'keychain-backup.plist').encryptedOnly, true);
    assert.equal(must(c, 'HealthDomain', 'Health/healthdb.sqlite').encryptedOnly, true);
    assert.equal(must(c, 'HomeDomain', 'Library/SMS/sms.db').encryptedOnly, false);
    const plain = [...c.entries({ encrypted: false })];
    assert.ok(plain.every((e) => e.domain !== 'HealthDomain' && e.relativePath !== 'keychain-backup.plist'));
    assert.ok(c.stats({ encrypted: false }).files < c.stats().files);
    assert.equal(c.totalSize(), c.stats().bytes);
  });
});

describe('bytes', () => {
  test('reads at any offset agree with the stream, and the digest is the SHA-1 of the stream', async () => {
    const c = tiny();
    const files = [...c.entries()].filter((e) => e.kind === 'file' && e.size > 0 && e.source !== 'photo');
    const photo = [...c.entries()].find((e) => e.source === 'photo');
    assert.ok(photo !== undefined);
    for (const e of files.filter((_x, i) => i % 5 === 0).concat(photo)) {
      const whole = await c.read(e, 0, e.size);
      assert.equal(whole.length, e.size);
      const offset = Math.floor(e.size / 3) + 5;
      assert.deepEqual(await c.read(e, offset, 1000), whole.subarray(offset, offset + 1000));
      assert.equal(Buffer.from(await c.digest(e)).toString('hex'), createHash('sha1').update(whole).digest('hex'));
      assert.equal(await sha1(c, e), createHash('sha1').update(whole).digest('hex'));
    }
  });

  test('generated files are incompressible and distinct; media files carry their format header', async () => {
    const c = DeviceContent.build(typicalSpec);
    const noise = [...c.under('AppDomain-com.spotify.client', 'Library/Caches/')]
      .filter((e) => e.kind === 'file' && e.size > 4096)
      .slice(0, 20);
    const heads = new Set<string>();
    for (const e of noise) {
      const head = await c.read(e, 0, 4096);
      heads.add(Buffer.from(head).toString('hex'));
      assert.ok(deflateSync(head).length / head.length > 0.95);
    }
    assert.equal(heads.size, noise.length);
    await withTemp(async (dir) => {
      const rec = must(c, 'MediaDomain', 'Media/Recordings/20240512 101530.m4a');
      const pdf = must(
        c,
        'AppDomainGroup-group.com.apple.FileProvider.LocalStorage',
        'File Provider Storage/Résumé.pdf',
      );
      for (const [e, expected] of [
        [rec, /M4A|MPEG v4|ISO Media/i],
        [pdf, /PDF document/],
      ] as const) {
        const path = join(dir, 'sample');
        await writeFile(path, await c.read(e, 0, Math.min(e.size, 4096)));
        assert.match(execFileSync('file', ['-b', path], { encoding: 'utf8' }), expected);
      }
    });
  });

  test('a huge video is described without memory and its bytes come from anywhere in it', async () => {
    const size = 5 * 1024 * 1024 * 1024;
    const c = DeviceContent.build({ seed: 4, files: 50, bytes: 1 << 20, hugeFiles: [size] });
    // The profile's huge videos come after the generated camera roll.
    const video = [...c.under('CameraRollDomain', 'Media/DCIM/')].filter((e) => e.relativePath.endsWith('.MOV')).at(-1);
    assert.ok(video !== undefined);
    assert.equal(video.size, size);
    const head = await c.read(video, 0, 36);
    assert.equal(new TextDecoder().decode(head.subarray(4, 8)), 'ftyp');
    assert.equal(new TextDecoder().decode(head.subarray(24, 28)), 'mdat');
    const tail = await c.read(video, size - 100, 500);
    assert.equal(tail.length, 100);
    const mid = await c.read(video, 4 * 1024 * 1024 * 1024 + 7, 64);
    const again = await c.read(video, 4 * 1024 * 1024 * 1024, 71);
    assert.deepEqual(mid, again.subarray(7));
  });
});

describe('databases and plists', () => {
  const DBS: [string, string, string][] = [
    [
      'HomeDomain',
      'Library/AddressBook/AddressBook.sqlitedb',
      'SELECT COUNT(*) FROM ABPerson JOIN ABMultiValue ON record_id = ABPerson.ROWID WHERE property = 3',
    ],
    [
      'HomeDomain',
      'Library/SMS/sms.db',
      'SELECT COUNT(*) FROM message JOIN handle ON handle.ROWID = message.handle_id WHERE text IS NOT NULL',
    ],
    ['HomeDomain', 'Library/CallHistoryDB/CallHistory.storedata', 'SELECT COUNT(*) FROM ZCALLRECORD'],
    ['HomeDomain', 'Library/Notes/notes.sqlite', 'SELECT COUNT(*) FROM ZNOTE'],
    ['AppDomainGroup-group.com.apple.notes', 'NoteStore.sqlite', 'SELECT COUNT(*) FROM ZICNOTEDATA'],
    ['HomeDomain', 'Library/Calendar/Calendar.sqlitedb', 'SELECT COUNT(*) FROM CalendarItem'],
    ['HealthDomain', 'Health/healthdb.sqlite', 'SELECT COUNT(*) FROM samples'],
  ];

  test('the databases open with better-sqlite3 and the sqlite3 tool, and hold rows', async () => {
    const c = tiny();
    await withTemp(async (dir) => {
      for (const [domain, path, sql] of DBS) {
        const bytes = await c.read(must(c, domain, path), 0, Number.MAX_SAFE_INTEGER);
        assert.equal(new TextDecoder().decode(bytes.subarray(0, 15)), 'SQLite format 3');
        const db = new Database(Buffer.from(bytes), { readonly: true });
        const row = db.prepare(sql).pluck().get();
        db.close();
        assert.ok(typeof row === 'number' && row > 0, `${path}: ${String(row)} rows`);
        const file = join(dir, 'db.sqlite');
        await writeFile(file, bytes);
        assert.equal(execFileSync('sqlite3', [file, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim(), 'ok');
        assert.equal(Number(execFileSync('sqlite3', [file, sql], { encoding: 'utf8' })), row);
      }
    });
  });

  test('Photos.sqlite (with its -wal) lists every camera-roll original; a Live Photo MOV is part of its still', async () => {
    const c = tiny();
    const sql = "SELECT ZDIRECTORY || '/' || ZFILENAME FROM ZASSET ORDER BY 1";
    const names = await withPhotosDb(c, (db) => db.prepare(sql).pluck().all() as string[]);
    const mainOnly = await withPhotosDb(c, (db) => db.prepare(sql).pluck().all() as string[], false);
    assert.ok(mainOnly.length < names.length, 'the newest assets are only in the -wal');
    const files = [...c.under('CameraRollDomain', 'Media/DCIM/')]
      .filter((e) => e.kind === 'file')
      .map((e) => e.relativePath.slice('Media/'.length));
    const stills = new Set(files.filter((f) => !f.endsWith('.MOV')).map((f) => f.replace(/\.\w+$/, '')));
    assert.deepEqual(
      names,
      files.filter((f) => !(f.endsWith('.MOV') && stills.has(f.replace(/\.MOV$/, '')))),
    );
  });

  test('preferences and the keychain are plists that plistlib reads', async () => {
    const c = tiny();
    const files: [string, string][] = [
      ['HomeDomain', 'Library/Preferences/.GlobalPreferences.plist'],
      ['HomeDomain', 'Library/Preferences/com.apple.Preferences.plist'],
      ['SystemPreferencesDomain', 'com.apple.wifi.known-networks.plist'],
      ['KeychainDomain', 'keychain-backup.plist'],
    ];
    const blobs = await Promise.all(
      files.map(async ([d, p]) => Buffer.from(await c.read(must(c, d, p), 0, 1 << 20)).toString('base64')),
    );
    const script = [
      'import plistlib, sys, base64, json',
      'ds = [plistlib.loads(base64.b64decode(b)) for b in json.load(sys.stdin)]',
      "print(json.dumps([ds[0]['AppleLocale'], ds[1]['ScreenTimeEnabled'], len(ds[2]), list(ds[3]['genp'][0]['v_Data'][:4]), len(ds[3]['keys'])]))",
    ].join('\n');
    const out = JSON.parse(
      execFileSync('python3', ['-c', script], { input: JSON.stringify(blobs), encoding: 'utf8' }),
    ) as unknown[];
    assert.equal(out[0], 'en_US');
    assert.equal(out[1], true);
    assert.ok(typeof out[2] === 'number' && out[2] >= 3);
    assert.deepEqual(out[3], [3, 0, 0, 0]);
    assert.equal(out[4], 4);
  });
});
