/**
 * Deleting and archiving backups (src/app/manage.ts) on hand-made backup folders: what may be
 * touched (only backups directly in a root, or versions of a phone's history; never through a link), the
 * delete that a crash cannot leave half-listed, and archives made of hard links that later
 * backups do not change.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { listAllBackups } from '../../../src/app/list.js';
import { archiveBackup, archiveFolderName, deleteBackup, describeManagedBackup } from '../../../src/app/manage.js';
import { folderSize, listBackups, parseArchiveName } from '../../../src/backup/list.js';
import { VERSIONS_DIR } from '../../../src/backup/versions.js';
import { hasCode, isIbackupError } from '../../../src/errors.js';
import { buildBackup, tempRoot } from '../../support/backup-fixtures.js';

const UDID = '5e8dfbc7f9f29a7645d66ef70b6f2d3f5dad8583';
const OTHER = '00008110-000A1B2C3D4E5F6A';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

/** A new, empty backup folder, removed when the file's tests end. */
function setup(): string {
  const t = tempRoot();
  cleanups.push(t.cleanup);
  const root = path.join(t.root, 'Backup');
  mkdirSync(root);
  return root;
}

/** Asserts the promise rejects with an IbackupError of `code` whose message and remedy say something. */
async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isIbackupError(err), String(err));
    assert.equal(err.code, code, err.message);
    assert.ok(err.remedy.length > 10);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** Every file under `dir`, relative path → [inode, content]. */
function filesOf(dir: string): Map<string, [number, string]> {
  const out = new Map<string, [number, string]>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(path.relative(dir, p), [statSync(p).ino, readFileSync(p).toString('base64')]);
    }
  };
  walk(dir);
  return out;
}

describe('deleteBackup', () => {
  test('deletes a backup in the root; nothing is listed or left behind', async () => {
    const root = setup();
    const { dir } = buildBackup(root, { udid: UDID });
    buildBackup(root, { udid: OTHER });
    const info = await describeManagedBackup(dir, [root]);
    assert.deepEqual([info.kind, info.udid, info.deviceName, info.complete], ['current', UDID, 'Test iPhone', true]);
    assert.equal(info.sizeBytes, await folderSize(dir));
    assert.deepEqual(await deleteBackup(dir, [root]), { deleted: dir });
    assert.equal(existsSync(dir), false);
    assert.deepEqual(readdirSync(root), [OTHER]);
    assert.deepEqual(
      (await listAllBackups([root])).backups.map((b) => b.udid),
      [OTHER],
    );
  });

  test('relative paths, a root reached through a link, archives and versions of the history', async () => {
    const root = setup();
    const archive = buildBackup(root, { udid: UDID, folder: `${UDID}-20240102-030405` }).dir;
    const kept = buildBackup(path.join(root, VERSIONS_DIR, UDID), { udid: UDID, folder: '20240101-000000' }).dir;
    const older = buildBackup(path.join(root, VERSIONS_DIR, UDID), { udid: UDID, folder: '20231201-000000' }).dir;
    const current = buildBackup(root, { udid: UDID }).dir;
    const linkedRoot = `${root}-link`;
    symlinkSync(root, linkedRoot);
    assert.equal((await describeManagedBackup(kept, [root])).kind, 'version');
    assert.equal((await describeManagedBackup(archive, [linkedRoot])).kind, 'archive');
    assert.deepEqual(await deleteBackup(path.relative(process.cwd(), archive), [root]), { deleted: archive });
    assert.deepEqual(await deleteBackup(kept, [linkedRoot]), { deleted: kept });
    assert.equal(existsSync(kept), false);
    assert.deepEqual(readdirSync(path.join(root, VERSIONS_DIR, UDID)), ['20231201-000000']);
    // The phone's backup goes with its whole history.
    assert.deepEqual(await deleteBackup(path.join(linkedRoot, UDID), [root]), { deleted: path.join(linkedRoot, UDID) });
    assert.equal(existsSync(current), false);
    assert.equal(existsSync(older), false);
    assert.deepEqual(await listBackups(root), []);
    assert.deepEqual(readdirSync(root), ['.ibackup']);
    assert.deepEqual(readdirSync(path.join(root, VERSIONS_DIR)), []);
  });

  test('refuses paths outside the roots, "..", the root itself, hidden folders and non-backups', async () => {
    const root = setup();
    const outsideRoot = setup();
    const outside = buildBackup(outsideRoot, { udid: UDID }).dir;
    const inside = buildBackup(root, { udid: UDID }).dir;
    mkdirSync(path.join(root, 'Photos'));
    writeFileSync(path.join(root, 'Photos', 'a.jpg'), 'x');
    mkdirSync(path.join(root, '.ibackup'));
    writeFileSync(path.join(root, '.ibackup', 'Info.plist'), 'x');
    writeFileSync(path.join(root, 'stray-file'), 'x');
    mkdirSync(path.join(inside, 'nested'));
    writeFileSync(path.join(inside, 'nested', 'Info.plist'), 'x');

    await rejectsWith(deleteBackup(outside, [root]), 'USAGE', /not in the backup folder/);
    await rejectsWith(
      deleteBackup(path.join(root, UDID, '..', '..', '..', path.basename(path.dirname(outsideRoot)), 'Backup', UDID), [
        root,
      ]),
      'USAGE',
      /not in the backup folder/,
    );
    await rejectsWith(deleteBackup(path.join(root, UDID, '..'), [root]), 'USAGE', /backup folder itself/);
    await rejectsWith(deleteBackup(root, [root]), 'USAGE', /backup folder itself/);
    await rejectsWith(deleteBackup(`${root}/`, [root]), 'USAGE', /backup folder itself/);
    await rejectsWith(deleteBackup(path.join(root, '.ibackup'), [root]), 'USAGE');
    await rejectsWith(deleteBackup(path.join(inside, 'nested'), [root]), 'USAGE');
    await rejectsWith(deleteBackup(path.join(root, 'Photos'), [root]), 'BACKUP_NOT_FOUND', /not a backup/);
    await rejectsWith(deleteBackup(path.join(root, 'stray-file'), [root]), 'BACKUP_NOT_FOUND');
    await rejectsWith(deleteBackup(path.join(root, 'gone'), [root]), 'BACKUP_NOT_FOUND');
    await rejectsWith(deleteBackup('', [root]), 'USAGE');
    await rejectsWith(deleteBackup(`${inside}\0`, [root]), 'USAGE');
    await rejectsWith(deleteBackup(inside, []), 'USAGE');
    await rejectsWith(archiveBackup(outside, [root]), 'USAGE');
    await rejectsWith(archiveBackup(root, [root]), 'USAGE');
    await rejectsWith(archiveBackup(path.join(root, 'Photos'), [root]), 'BACKUP_NOT_FOUND');
    for (const p of [
      outside,
      inside,
      path.join(root, 'Photos', 'a.jpg'),
      path.join(root, '.ibackup', 'Info.plist'),
      path.join(inside, 'nested'),
    ]) {
      assert.ok(existsSync(p), p);
    }
    assert.equal((await listBackups(outsideRoot)).length, 1);
  });

  test('a link in the root to a backup elsewhere is refused and what it points to survives', async () => {
    const root = setup();
    const elsewhere = buildBackup(setup(), { udid: UDID }).dir;
    const before = filesOf(elsewhere);
    symlinkSync(elsewhere, path.join(root, UDID));
    symlinkSync(elsewhere, path.join(root, `${UDID}-20240102-030405`));
    await rejectsWith(deleteBackup(path.join(root, UDID), [root]), 'USAGE', /symbolic link/);
    await rejectsWith(deleteBackup(path.join(root, `${UDID}-20240102-030405`), [root]), 'USAGE', /symbolic link/);
    await rejectsWith(archiveBackup(path.join(root, UDID), [root]), 'USAGE', /symbolic link/);
    assert.deepEqual(filesOf(elsewhere), before);
    assert.deepEqual(readdirSync(root).sort(), [UDID, `${UDID}-20240102-030405`]);
  });

  test('links inside a deleted backup are removed, never followed', async () => {
    const root = setup();
    const elsewhere = setup();
    writeFileSync(path.join(elsewhere, 'keep.txt'), 'keep');
    const { dir } = buildBackup(root, { udid: UDID });
    symlinkSync(elsewhere, path.join(dir, 'ab'));
    symlinkSync(path.join(elsewhere, 'keep.txt'), path.join(dir, 'link.txt'));
    await deleteBackup(dir, [root]);
    assert.equal(readFileSync(path.join(elsewhere, 'keep.txt'), 'utf8'), 'keep');
    assert.deepEqual(readdirSync(root), []);
  });

  test('a delete interrupted after its rename leaves nothing listed; the next delete clears it', async () => {
    const root = setup();
    const { dir } = buildBackup(root, { udid: UDID });
    buildBackup(root, { udid: OTHER });
    // What deleteBackup does first, then the process dies.
    const leftover = path.join(root, `.deleting-${process.pid}-0badc0de-${UDID}`);
    renameSync(dir, leftover);
    assert.deepEqual(
      (await listBackups(root)).map((b) => b.folder),
      [OTHER],
    );
    assert.deepEqual(
      (await listAllBackups([root])).backups.map((b) => b.udid),
      [OTHER],
    );
    // An archive interrupted by a process that is gone is hidden too.
    const halfArchive = path.join(root, `.archiving-2147483646-0badc0de-${UDID}`);
    buildBackup(root, { udid: UDID, folder: path.basename(halfArchive) });
    assert.deepEqual(
      (await listBackups(root)).map((b) => b.folder),
      [OTHER],
    );
    await deleteBackup(path.join(root, OTHER), [root]);
    assert.deepEqual(readdirSync(root), []);
  });
});

describe('archiveBackup', () => {
  const AT = new Date(2024, 0, 2, 3, 4, 5);

  test('names the archive <UDID>-YYYYMMDD-HHMMSS in local time', () => {
    assert.equal(archiveFolderName(UDID, AT), `${UDID}-20240102-030405`);
    assert.equal(archiveFolderName(OTHER, new Date(2025, 11, 31, 23, 59, 9)), `${OTHER}-20251231-235909`);
    assert.deepEqual(parseArchiveName(archiveFolderName(OTHER, AT)), { udid: OTHER, date: AT });
  });

  test('an archive is listed as kind "archive", made of hard links, unchanged by later backups', async () => {
    const root = setup();
    const { dir } = buildBackup(root, { udid: UDID });
    const original = filesOf(dir);
    const result = await archiveBackup(dir, [root], AT);
    const archive = path.join(root, `${UDID}-20240102-030405`);
    assert.deepEqual(result, { archive, sizeBytes: await folderSize(archive) });
    assert.ok(result.sizeBytes > 70_000);
    assert.deepEqual(filesOf(archive), original, 'same files, same inodes');
    assert.deepEqual(readdirSync(root).sort(), [UDID, path.basename(archive)], 'no temp folder left');
    // Hard links: the two folders together take the space of one.
    assert.equal(await folderSize(root), result.sizeBytes);

    const listed = (await listAllBackups([root])).backups;
    assert.deepEqual(listed.map((b) => [b.path, b.kind, b.complete]).sort(), [
      [dir, 'current', true],
      [archive, 'archive', true],
    ]);

    // A new backup replaces files through temp + rename, and removes some: the archive keeps its own.
    const blob = [...original.keys()].find((k) => /^[0-9a-f]{2}\//.test(k)) as string;
    for (const name of ['Status.plist', blob]) {
      writeFileSync(path.join(dir, `${name}.tmp-1`), 'new content');
      renameSync(path.join(dir, `${name}.tmp-1`), path.join(dir, name));
    }
    const removed = [...original.keys()].filter((k) => /^[0-9a-f]{2}\//.test(k) && k !== blob)[0] as string;
    renameSync(path.join(dir, removed), path.join(root, 'gone'));
    assert.deepEqual(filesOf(archive), original);
    assert.equal((await listBackups(root)).find((b) => b.folder === path.basename(archive))?.complete, true);
  });

  test('the same second twice gives the next second; an archive of an archive; of a version', async () => {
    const root = setup();
    const { dir } = buildBackup(root, { udid: UDID });
    const first = await archiveBackup(dir, [root], AT);
    const second = await archiveBackup(dir, [root], AT);
    assert.equal(path.basename(first.archive), `${UDID}-20240102-030405`);
    assert.equal(path.basename(second.archive), `${UDID}-20240102-030406`);
    const third = await archiveBackup(first.archive, [root], new Date(2024, 5, 1, 12, 0, 0));
    assert.equal(third.archive, path.join(root, `${UDID}-20240601-120000`));
    const kept = buildBackup(path.join(root, VERSIONS_DIR, OTHER), { udid: OTHER, folder: '20240101-000000' }).dir;
    const fourth = await archiveBackup(kept, [root], AT);
    assert.equal(fourth.archive, path.join(root, `${OTHER}-20240102-030405`));
    const kinds = (await listAllBackups([root])).backups.map((b) => `${path.basename(b.path)} ${b.kind}`).sort();
    assert.deepEqual(kinds, [
      `${OTHER}-20240102-030405 archive`,
      `20240101-000000 version`,
      `${UDID} current`,
      `${UDID}-20240102-030405 archive`,
      `${UDID}-20240102-030406 archive`,
      `${UDID}-20240601-120000 archive`,
    ]);
  });

  test('refuses an incomplete backup and leaves nothing behind', async () => {
    const root = setup();
    const { dir } = buildBackup(root, { udid: UDID, snapshotState: 'uploading' });
    await rejectsWith(archiveBackup(dir, [root], AT), 'BACKUP_INCOMPLETE', /not a complete backup/);
    const other = buildBackup(root, { udid: OTHER }).dir;
    mkdirSync(path.join(other, 'Snapshot'));
    await rejectsWith(archiveBackup(other, [root], AT), 'BACKUP_INCOMPLETE');
    const noStatus = buildBackup(root, { udid: UDID, folder: 'no-status' }).dir;
    renameSync(path.join(noStatus, 'Status.plist'), path.join(root, 'status-elsewhere'));
    await assert.rejects(archiveBackup(noStatus, [root], AT), (err: unknown) => hasCode(err, 'BACKUP_INCOMPLETE'));
    assert.deepEqual(readdirSync(root).sort(), [OTHER, UDID, 'no-status', 'status-elsewhere']);
  });
});
