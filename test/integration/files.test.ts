import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openBackupView, type BackupView } from '../../src/app/backup-view.js';
import { extractFiles } from '../../src/app/extract.js';
import { findOne, listFiles } from '../../src/app/files.js';
import { verifyBackupAt } from '../../src/app/verify.js';
import { liveTempDirs } from '../../src/backup/temp.js';
import { isIbackupError } from '../../src/errors.js';
import { buildBackup, fileIdOf, tempRoot, type FixtureEntry } from '../support/backup-fixtures.js';
import { buildLegacyBackup, cliIn, listingOf, makeDemoBackup, type DemoBackup } from '../support/backup-reading.js';
import { json, type ErrorDoc } from '../support/bench.js';

const { root, cleanup } = tempRoot();
let demo: DemoBackup;
let n = 0;
const te = new TextEncoder();

before(async () => {
  demo = await makeDemoBackup();
});
after(async () => {
  await demo?.dispose();
  cleanup();
});

function fresh(): string {
  return path.join(root, `t${n++}`);
}

/** Opens, runs, closes; asserts the backup folder is unchanged and no private temp folder is left. */
async function withView<T>(dir: string, use: (v: BackupView) => Promise<T> | T, pw?: string): Promise<T> {
  const before = listingOf(dir);
  const v = await openBackupView(dir, pw === undefined ? {} : { password: () => Promise.resolve(pw) });
  try {
    return await use(v);
  } finally {
    v.close();
    assert.deepEqual(listingOf(dir), before, 'the backup folder changed');
    assert.deepEqual(liveTempDirs(), []);
  }
}

/** Every file under a folder, relative path → bytes. */
function tree(dir: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(path.relative(dir, p).split(path.sep).join('/'), new Uint8Array(readFileSync(p)));
    }
  };
  walk(dir);
  return out;
}

describe('files on a backup made by the virtual iPhone', () => {
  test('ls: one entry per Manifest row, folders and links included, every blob present', async () => {
    const rows = (await verifyBackupAt(demo.dir)).counts;
    await withView(demo.dir, (v) => {
      const r = listFiles(v);
      assert.equal(r.files.length, rows.rows);
      assert.equal(r.files.filter((f) => f.type === 'directory').length, rows.directories);
      assert.equal(r.files.filter((f) => f.type === 'symlink').length, rows.symlinks);
      for (const f of r.files) {
        assert.equal(f.fileID, fileIdOf(f.domain, f.relativePath));
        assert.equal(f.blobPresent, f.type === 'file');
        if (f.type === 'symlink') assert.equal(typeof f.target, 'string');
      }
      assert.deepEqual(r.warnings, []);
      const dbs = listFiles(v, { pattern: '*/Library/**/*.db', domain: 'HomeDomain' }).files;
      assert.ok(dbs.length > 0 && dbs.every((f) => f.domain === 'HomeDomain' && f.relativePath.endsWith('.db')));
    });
  });

  test("extract writes <out>/<domain>/<relativePath> with the blobs' bytes", async () => {
    const out = fresh();
    const progress: number[] = [];
    await withView(demo.dir, async (v) => {
      const r = await extractFiles(v, { out, onProgress: (p) => progress.push(p.percent) });
      assert.equal(r.ok, true, JSON.stringify(r.skipped));
      const files = listFiles(v).files.filter((f) => f.type === 'file');
      assert.equal(r.filesWritten, files.length);
      const written = tree(out);
      assert.equal(written.size, files.length);
      for (const f of files) {
        const blob = new Uint8Array(readFileSync(path.join(demo.dir, f.fileID.slice(0, 2), f.fileID)));
        assert.deepEqual(written.get(`${f.domain}/${f.relativePath}`), blob, f.relativePath);
      }
    });
    assert.equal(progress.at(-1), 100);
  });

  test('a missing Manifest.plist and a missing blob: still listed, with warnings; extract reports the missing file', async () => {
    const dir = path.join(fresh(), demo.udid);
    cpSync(demo.dir, dir, { recursive: true });
    rmSync(path.join(dir, 'Manifest.plist'));
    const victim = await withView(dir, (v) => listFiles(v).files.find((f) => f.type === 'file' && f.size > 0));
    assert.ok(victim);
    rmSync(path.join(dir, victim.fileID.slice(0, 2), victim.fileID));
    await withView(dir, async (v) => {
      const r = listFiles(v);
      assert.deepEqual(r.warnings.map((w) => w.code).sort(), ['BLOB_MISSING', 'MANIFEST_PLIST_MISSING']);
      assert.equal(r.files.find((f) => f.fileID === victim.fileID)?.blobPresent, false);
      const x = await extractFiles(v, { out: fresh() });
      assert.equal(x.ok, false);
      assert.deepEqual(
        x.skipped.map((s) => [s.code, s.path]),
        [['BLOB_MISSING', `${victim.domain}/${victim.relativePath}`]],
      );
      assert.equal(x.filesWritten, r.counts.files - 1);
    });
  });
});

describe('files on an encrypted backup', () => {
  test('ls, extract (decrypted, same relative paths) and cat; wrong or no password', async () => {
    const b = buildBackup(fresh(), { password: 'pw' });
    await assert.rejects(
      openBackupView(b.dir, { password: () => Promise.resolve('bad') }),
      (e) => isIbackupError(e) && e.code === 'WRONG_PASSWORD',
    );
    await assert.rejects(openBackupView(b.dir), (e) => isIbackupError(e) && e.code === 'PASSWORD_REQUIRED');
    const out = fresh();
    await withView(
      b.dir,
      async (v) => {
        assert.equal(listFiles(v).files.length, b.entries.length);
        const r = await extractFiles(v, { out, caseInsensitive: false });
        assert.equal(r.ok, true);
        assert.deepEqual(r.links, [
          { path: 'DatabaseDomain/timezone/localtime', target: '/usr/share/zoneinfo/Europe/Paris' },
        ]);
        const written = tree(out);
        for (const e of b.entries.filter((x) => x.kind === 'file'))
          assert.deepEqual(written.get(`${e.domain}/${e.relativePath}`), e.content);
        const one = findOne(v, { pattern: '**/notes.txt' });
        const parts: Uint8Array[] = [];
        for await (const c of v.chunks(one)) parts.push(c);
        assert.equal(Buffer.concat(parts).toString(), 'hello notes\n');
        assert.throws(
          () => findOne(v, { pattern: 'HomeDomain/Library/Preferences/*' }),
          (e) => isIbackupError(e) && e.code === 'USAGE' && /matches 2 files/.test(e.message),
        );
        assert.throws(
          () => findOne(v, { pattern: 'HomeDomain/Library' }),
          (e) => isIbackupError(e) && e.code === 'USAGE' && /a directory/.test(e.message),
        );
      },
      'pw',
    );
  });

  test('names differing only in case get a numbered name where the file system ignores case', async () => {
    const b = buildBackup(fresh(), { password: 'pw' });
    const out = fresh();
    await withView(
      b.dir,
      async (v) => {
        const r = await extractFiles(v, { out, pattern: 'HomeDomain/Library/Preferences/*', caseInsensitive: true });
        assert.deepEqual(r.renamed, [
          {
            path: 'HomeDomain/Library/Preferences/com.apple.springboard.plist',
            writtenAs: path.join('HomeDomain', 'Library', 'Preferences', 'com.apple.springboard (2).plist'),
          },
        ]);
      },
      'pw',
    );
  });
});

describe('hostile and awkward paths', () => {
  const hostile: FixtureEntry[] = [
    { domain: 'HomeDomain', relativePath: '../../escape.txt', kind: 'file', content: te.encode('x') },
    { domain: 'HomeDomain', relativePath: '/etc/absolute.txt', kind: 'file', content: te.encode('x') },
    { domain: 'HomeDomain', relativePath: 'a\0b.txt', kind: 'file', content: te.encode('x') },
    { domain: '..', relativePath: 'up.txt', kind: 'file', content: te.encode('x') },
    { domain: 'HomeDomain', relativePath: 'Library/CON.txt', kind: 'file', content: te.encode('con') },
    { domain: 'HomeDomain', relativePath: 'Library/what?:*.txt', kind: 'file', content: te.encode('q') },
    { domain: 'HomeDomain', relativePath: 'Library/trailing. ', kind: 'file', content: te.encode('t') },
    { domain: 'HomeDomain', relativePath: `Library/${'n'.repeat(300)}.txt`, kind: 'file', content: te.encode('long') },
    { domain: 'HomeDomain', relativePath: 'Library/ok.txt', kind: 'file', content: te.encode('ok') },
  ];

  test('refused and reported, nothing written outside --out; Windows names on request', async () => {
    const b = buildBackup(fresh(), { entries: hostile });
    const base = fresh();
    const out = path.join(base, 'out');
    await withView(b.dir, async (v) => {
      const r = await extractFiles(v, { out, windowsNames: true, caseInsensitive: false });
      assert.deepEqual(
        r.skipped.map((s) => s.code),
        ['UNSAFE_PATH', 'UNSAFE_PATH', 'UNSAFE_PATH', 'UNSAFE_PATH'],
      );
      assert.equal(r.filesWritten, 5);
      const names = [...tree(out).keys()].sort();
      assert.ok(names.includes('HomeDomain/Library/_CON.txt'));
      assert.ok(names.includes('HomeDomain/Library/what___.txt'));
      assert.ok(names.includes('HomeDomain/Library/trailing__'));
      assert.ok(names.includes('HomeDomain/Library/ok.txt'));
      const long = names.find((x) => x.includes('nnnn')) as string;
      assert.ok(long.endsWith('.txt') && path.basename(long).length <= 255);
      assert.deepEqual(readdirSync(base), ['out']);
      assert.equal(existsSync(path.join(root, 'escape.txt')), false);
      const unix = await extractFiles(v, { out: fresh(), windowsNames: false, caseInsensitive: false });
      assert.equal(unix.skipped.length, 4);
      assert.equal(unix.filesWritten, 5);
    });
  });

  test('a stale temp file is replaced, a folder in the way is reported, big files decrypt across reads', async () => {
    const big = new Uint8Array(3 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const b = buildBackup(fresh(), {
      password: 'pw',
      entries: [
        { domain: 'HomeDomain', relativePath: 'Library/big.bin', kind: 'file', content: big },
        { domain: 'HomeDomain', relativePath: 'Library/taken', kind: 'file', content: te.encode('x') },
        { domain: 'HomeDomain', relativePath: 'Library/small.txt', kind: 'file', content: te.encode('small') },
      ],
    });
    const out = fresh();
    const lib = path.join(out, 'HomeDomain', 'Library');
    mkdirSync(path.join(lib, 'taken'), { recursive: true });
    writeFileSync(path.join(lib, `small.txt.tmp-${process.pid}`), 'left over by a crash');
    await withView(
      b.dir,
      async (v) => {
        const r = await extractFiles(v, { out });
        assert.deepEqual(
          r.skipped.map((s) => [s.code, s.path]),
          [['UNSAFE_PATH', 'HomeDomain/Library/taken']],
        );
        assert.equal(r.filesWritten, 2);
      },
      'pw',
    );
    assert.deepEqual(new Uint8Array(readFileSync(path.join(lib, 'big.bin'))), big);
    assert.equal(readFileSync(path.join(lib, 'small.txt'), 'utf8'), 'small');
    assert.equal(statSync(path.join(lib, 'big.bin')).mtime.getTime(), 1_700_000_000_000);
    assert.deepEqual(readdirSync(lib).sort(), ['big.bin', 'small.txt', 'taken']);
  });

  test('--out inside the backup is refused', async () => {
    const b = buildBackup(fresh());
    await withView(b.dir, async (v) => {
      await assert.rejects(
        extractFiles(v, { out: path.join(b.dir, 'x') }),
        (e) => isIbackupError(e) && e.code === 'USAGE',
      );
    });
  });
});

describe('iOS 9 backups (Manifest.mbdb, flat blobs)', () => {
  const entries = [
    { domain: 'HomeDomain', relativePath: '', kind: 'directory' as const },
    {
      domain: 'HomeDomain',
      relativePath: 'Library/SMS/sms.db',
      kind: 'file' as const,
      content: te.encode('old sms database'),
    },
    {
      domain: 'MediaDomain',
      relativePath: 'Media/Recordings/a.m4a',
      kind: 'file' as const,
      content: new Uint8Array(5000).fill(7),
    },
    {
      domain: 'DatabaseDomain',
      relativePath: 'timezone/localtime',
      kind: 'symlink' as const,
      target: '/usr/share/zoneinfo/UTC',
    },
  ];
  for (const pw of [undefined, 'legacy-pw']) {
    test(`ls and extract work ${pw === undefined ? 'plain' : 'encrypted'}`, async () => {
      const b = buildLegacyBackup(fresh(), entries, pw);
      const out = fresh();
      await withView(
        b.dir,
        async (v) => {
          assert.equal(v.format, 'mbdb');
          const r = listFiles(v);
          assert.deepEqual(
            r.files.map((f) => `${f.type} ${f.domain}/${f.relativePath} ${f.blobPresent}`),
            [
              'symlink DatabaseDomain/timezone/localtime false',
              'directory HomeDomain/ false',
              'file HomeDomain/Library/SMS/sms.db true',
              'file MediaDomain/Media/Recordings/a.m4a true',
            ],
          );
          const x = await extractFiles(v, { out, domain: '*Domain' });
          assert.equal(x.ok, true);
          const t = tree(out);
          assert.equal(new TextDecoder().decode(t.get('HomeDomain/Library/SMS/sms.db')), 'old sms database');
          assert.deepEqual(t.get('MediaDomain/Media/Recordings/a.m4a'), new Uint8Array(5000).fill(7));
        },
        pw,
      );
    });
  }
});

describe('ibackup files (CLI)', () => {
  test('ls --json shape, cat, USAGE for several matches, --save-key then no password needed', async () => {
    const backups = fresh();
    const b = buildBackup(backups, { password: 'pw', deviceName: 'Locked Phone' });
    const config = fresh();
    const cli = cliIn(config, backups);
    const before = listingOf(b.dir);
    const noPw = await cli(['files', 'ls', b.dir, '--json']);
    const [saved, many] = await Promise.all([
      cli(['files', 'ls', 'Locked Phone', 'HomeDomain/**', '--password-stdin', '--save-key', '--json'], {
        stdin: 'pw\n',
      }),
      cli(['files', 'cat', b.udid, '**/*.plist'], { env: { IBACKUP_PASSWORD: 'pw' } }),
    ]);
    assert.equal(noPw.code, 1);
    assert.equal(json<ErrorDoc>(noPw.stdout).error.code, 'PASSWORD_REQUIRED');
    assert.equal(saved.code, 0, saved.stderr);
    const doc = json<{ files: Array<Record<string, unknown>>; warnings: unknown[] }>(saved.stdout);
    assert.deepEqual(doc.warnings, []);
    assert.equal(doc.files.length, 8);
    for (const f of doc.files) {
      for (const k of [
        'domain',
        'relativePath',
        'fileID',
        'type',
        'size',
        'mode',
        'mtime',
        'protectionClass',
        'blobPresent',
      ])
        assert.ok(k in f, k);
    }
    assert.equal(many.code, 2);
    assert.match(many.stderr, /com\.apple\.SpringBoard\.plist[\s\S]*com\.apple\.springboard\.plist/);
    const keys = path.join(config, 'ibackup', 'keys');
    assert.equal(statSync(keys).mode & 0o777, 0o700);
    const [keyFile] = readdirSync(keys);
    assert.equal(statSync(path.join(keys, keyFile as string)).mode & 0o777, 0o600);
    const [cat, ls] = await Promise.all([cli(['files', 'cat', b.dir, '**/notes.txt']), cli(['files', 'ls', b.dir])]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'hello notes\n');
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /-rw-r--r--\s+70\.0 KB\s+\S+ \S+\s+HomeDomain\/Library\/SMS\/sms\.db/);
    assert.match(ls.stdout, /DatabaseDomain\/timezone\/localtime -> \/usr\/share\/zoneinfo\/Europe\/Paris/);
    assert.deepEqual(listingOf(b.dir), before);
  });
});
