import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lastBackupDate, listBackups, parseArchiveName } from '../../../src/backup/list.js';
import { defaultBackupRoot, defaultBackupRoots, resolveBackupRoot } from '../../../src/backup/roots.js';
import { buildBackup, tempRoot } from '../../support/backup-fixtures.js';

describe('backup roots', () => {
  const none = (): boolean => false;
  test('macOS, Linux (XDG) and Windows defaults', () => {
    assert.equal(
      defaultBackupRoot({ env: {}, platform: 'darwin', home: '/Users/ana' }),
      '/Users/ana/Library/Application Support/MobileSync/Backup',
    );
    assert.equal(
      defaultBackupRoot({ env: {}, platform: 'linux', home: '/home/ana' }),
      '/home/ana/.local/share/ibackup/MobileSync/Backup',
    );
    assert.equal(
      defaultBackupRoot({ env: { XDG_DATA_HOME: '/data' }, platform: 'linux', home: '/home/ana' }),
      '/data/ibackup/MobileSync/Backup',
    );
    assert.equal(
      defaultBackupRoot({ env: { XDG_DATA_HOME: 'relative' }, platform: 'linux', home: '/home/ana' }),
      '/home/ana/.local/share/ibackup/MobileSync/Backup',
    );
    const win = { APPDATA: 'C:\\Users\\ana\\AppData\\Roaming', USERPROFILE: 'C:\\Users\\ana' };
    assert.equal(
      defaultBackupRoot({ env: win, platform: 'win32', home: 'C:\\Users\\ana', exists: none }),
      'C:\\Users\\ana\\AppData\\Roaming\\Apple Computer\\MobileSync\\Backup',
    );
    assert.equal(
      defaultBackupRoot({ env: {}, platform: 'win32', home: 'C:\\Users\\bo' }),
      'C:\\Users\\bo\\AppData\\Roaming\\Apple Computer\\MobileSync\\Backup',
    );
  });

  test('Windows: the Microsoft Store folder when it exists', () => {
    const env = { APPDATA: 'C:\\Users\\ana\\AppData\\Roaming', USERPROFILE: 'C:\\Users\\ana' };
    const store = 'C:\\Users\\ana\\Apple\\MobileSync\\Backup';
    const itunes = 'C:\\Users\\ana\\AppData\\Roaming\\Apple Computer\\MobileSync\\Backup';
    assert.deepEqual(
      defaultBackupRoots({ env, platform: 'win32', home: 'C:\\Users\\ana', exists: (d) => d === store }),
      [store, itunes],
    );
    assert.deepEqual(defaultBackupRoots({ env, platform: 'win32', home: 'C:\\Users\\ana', exists: () => true }), [
      itunes,
      store,
    ]);
    assert.deepEqual(defaultBackupRoots({ env, platform: 'win32', home: 'C:\\Users\\ana', exists: none }), [itunes]);
  });

  test('--backup-dir, then IBACKUP_BACKUP_DIR, then the default', () => {
    const ctx = { env: { IBACKUP_BACKUP_DIR: '/env/dir' }, platform: 'linux', home: '/home/ana' };
    assert.deepEqual(resolveBackupRoot({ ...ctx, explicit: '/opt/b' }), {
      path: '/opt/b',
      source: 'option',
      candidates: ['/opt/b'],
    });
    assert.deepEqual(resolveBackupRoot(ctx), { path: '/env/dir', source: 'env', candidates: ['/env/dir'] });
    assert.equal(resolveBackupRoot({ ...ctx, env: { IBACKUP_BACKUP_DIR: '' } }).source, 'default');
    assert.equal(resolveBackupRoot({ ...ctx, explicit: '' }).source, 'env');
  });
});

describe('listBackups', () => {
  const { root, cleanup } = tempRoot();
  after(cleanup);
  const UDID = '5e8dfbc7f9f29a7645d66ef70b6f2d3f5dad8583';
  const NEW = '00008110-000A1B2C3D4E5F6A';

  test('archive folder names', () => {
    assert.deepEqual(parseArchiveName(`${UDID}-20240102-030405`), { udid: UDID, date: new Date(2024, 0, 2, 3, 4, 5) });
    assert.equal(parseArchiveName(NEW), undefined);
    assert.equal(parseArchiveName(`${UDID}-20241302-030405`), undefined);
    assert.equal(parseArchiveName(UDID), undefined);
  });

  test('current and archived backups, encrypted, complete, sizes, Last Backup', async () => {
    const b1 = buildBackup(root, { udid: UDID, statusDate: new Date('2024-06-01T00:00:00Z') });
    buildBackup(root, {
      udid: UDID,
      folder: `${UDID}-20240102-030405`,
      statusDate: new Date('2024-01-02T00:00:00Z'),
      password: 'pw',
    });
    // A newer but unfinished backup of a second device, and its older complete archive.
    buildBackup(root, {
      udid: NEW,
      deviceName: 'Other',
      snapshotState: 'uploading',
      statusDate: new Date('2024-07-01T00:00:00Z'),
    });
    buildBackup(root, { udid: NEW, folder: `${NEW}-20240301-120000`, statusDate: new Date('2024-03-01T00:00:00Z') });
    mkdirSync(path.join(root, '.ibackup', 'x'), { recursive: true });
    writeFileSync(path.join(root, '.ibackup', 'Info.plist'), 'x');
    mkdirSync(path.join(root, 'not-a-backup'));
    writeFileSync(path.join(root, 'stray-file'), 'x');

    const list = await listBackups(root);
    assert.deepEqual(
      list.map((b) => [b.folder, b.kind, b.encrypted, b.complete]),
      [
        [NEW, 'current', false, false],
        [`${NEW}-20240301-120000`, 'archive', false, true],
        [UDID, 'current', false, true],
        [`${UDID}-20240102-030405`, 'archive', true, true],
      ],
    );
    const current = list[2];
    assert.equal(current?.udid, UDID);
    assert.equal(current?.deviceName, 'Test iPhone');
    assert.equal(current?.iosVersion, '17.4');
    assert.deepEqual(current?.date, new Date('2024-06-01T00:00:00Z'));
    assert.equal(list[0]?.problems[0]?.code, 'SNAPSHOT_NOT_FINISHED');
    assert.equal(list[3]?.archivedAt?.getFullYear(), 2024);
    assert.deepEqual(lastBackupDate(list, UDID.toUpperCase()), new Date('2024-06-01T00:00:00Z'));
    assert.deepEqual(lastBackupDate(list, NEW), new Date('2024-03-01T00:00:00Z'));
    assert.equal(lastBackupDate(list, 'nope'), null);

    // Size: every file once; a hard-linked blob is counted once.
    const before = current?.sizeBytes ?? 0;
    assert.ok(before > 70_000);
    const sms = path.join(b1.dir, '3d', '3d0d7e5fb2ce288813306e4d4636395e047a3d28');
    linkSync(sms, path.join(b1.dir, 'extra-link'));
    const again = (await listBackups(root)).find((b) => b.folder === UDID);
    assert.equal(again?.sizeBytes, before);
    writeFileSync(path.join(b1.dir, 'DDNABackup.plist'), new Uint8Array(100));
    assert.equal((await listBackups(root)).find((b) => b.folder === UDID)?.sizeBytes, before + 100);
    assert.ok(statSync(sms).nlink === 2);
  });

  test('damaged backups are listed, not thrown; a missing root is an empty list', async () => {
    const { root: r2, cleanup: c2 } = tempRoot();
    try {
      const b = buildBackup(r2, {});
      rmSync(path.join(b.dir, 'Manifest.plist'));
      writeFileSync(path.join(b.dir, 'Info.plist'), 'garbage');
      const [s] = await listBackups(r2, { sizes: false });
      assert.equal(s?.complete, false);
      assert.equal(s?.udid, b.udid);
      assert.equal(s?.sizeBytes, 0);
      assert.deepEqual(
        s?.problems.map((p) => p.code),
        ['INFO_PLIST_CORRUPT', 'MANIFEST_PLIST_MISSING'],
      );
      assert.deepEqual(await listBackups(path.join(r2, 'missing')), []);
    } finally {
      c2();
    }
  });
});
