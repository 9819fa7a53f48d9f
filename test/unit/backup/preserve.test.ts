/**
 * Keeping the last complete backup as a version (src/backup/preserve.ts) on hand-made backup
 * folders: a run keeps only what it replaces or removes (plus the top-level files), a version a
 * live run fills is refused to readers, one a dead run left is completed from the unchanged files
 * and verifies, a second change of a file never overwrites what was kept of it, and a run that
 * completes leaves a complete version without the files it added.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveBackupArg } from '../../../src/app/open-backup.js';
import { verifyBackupAt } from '../../../src/app/verify.js';
import { serializeBinaryPlist } from '../../../src/protocol/plist/index.js';
import { listBackups } from '../../../src/backup/list.js';
import { Preserver, RUN_MARKER, settleKeptCopy } from '../../../src/backup/preserve.js';
import { fillingRun } from '../../../src/backup/version-fill.js';
import { versionDir, versionFolderIds } from '../../../src/backup/versions.js';
import { historyBytes, readHistory } from '../../../src/backup/history.js';
import { isIbackupError } from '../../../src/errors.js';
import { lstatMaybe, nodeFs, type FsLayer } from '../../../src/backup/fs-layer.js';
import { buildBackup, tempRoot, type BuiltBackup } from '../../support/backup-fixtures.js';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

function setup(): { root: string; b: BuiltBackup; dir: string } {
  const t = tempRoot();
  cleanups.push(t.cleanup);
  const root = path.join(t.root, 'Backup');
  mkdirSync(root);
  const b = buildBackup(root);
  return { root, b, dir: b.dir };
}

/** Every file under `dir` (relative paths, sorted). */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => statSync(path.join(dir, p)).isFile()).sort();
}

/** The blob path (`xx/<fileID>`) of the fixture's n-th file entry. */
function blob(b: BuiltBackup, n: number): string {
  const files = b.fileIDs.filter((_, i) => b.entries[i]?.kind === 'file');
  const id = files[n] as string;
  return path.join(id.slice(0, 2), id);
}

/** Replaces a file the way the backup store does: a new file renamed over it. */
function replace(file: string, content: string | Uint8Array): void {
  writeFileSync(`${file}.new`, content);
  renameSync(`${file}.new`, file);
}

/** A run's first Status upload: the device's folder no longer holds a complete backup. */
function markUploading(dir: string): void {
  const file = path.join(dir, 'Status.plist');
  writeFileSync(
    `${file}.new`,
    serializeBinaryPlist({
      IsFullBackup: false,
      Version: '3.3',
      BackupState: 'new',
      Date: new Date(),
      UUID: 'B1C2D3E4-0000-4000-8000-000000000002',
      SnapshotState: 'uploading',
    }),
  );
  renameSync(`${file}.new`, file);
}

/** The newest version folder of the device (the one a run fills). */
function keptVersion(root: string, udid: string): string {
  const ids = readdirSync(path.join(root, '.ibackup', 'versions', udid)).filter((n) => /^\d{8}-\d{6}/.test(n));
  assert.equal(ids.length, 1, `one version folder: ${ids.join(', ')}`);
  return versionDir(root, udid, ids[0] as string);
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid as number;
}

describe('keeping the last complete backup', () => {
  test('a run keeps the top-level files and each file just before it is replaced or removed; nothing else', async () => {
    const { root, b, dir } = setup();
    const p = new Preserver(root, b.udid);
    const a = path.join(dir, blob(b, 0));
    const original = readFileSync(a);
    await p.beforeChange(path.join(dir, 'Snapshot'), false);
    assert.equal(p.status, 'preserving');
    const kept = keptVersion(root, b.udid);
    assert.deepEqual(
      filesUnder(kept),
      [RUN_MARKER, 'Info.plist', 'Manifest.db', 'Manifest.plist', 'Status.plist'].sort(),
    );
    assert.deepEqual(fillingRun(kept), { pid: process.pid, running: true });

    await p.beforeChange(a, true);
    replace(a, 'first change');
    await p.beforeChange(a, true); // a second change keeps what was kept the first time
    replace(a, 'second change');
    await p.beforeChange(path.join(dir, 'Snapshot', 'ab', 'staged'), true); // staging is not part of the backup
    const gone = path.join(dir, blob(b, 1));
    const goneContent = readFileSync(gone);
    await p.beforeChange(gone, true);
    rmSync(gone);
    const added = path.join(dir, 'ff', 'f'.repeat(40));
    await p.beforeChange(added, true); // nothing there yet: nothing to keep
    mkdirSync(path.dirname(added), { recursive: true });
    writeFileSync(added, 'new');

    assert.deepEqual(readFileSync(path.join(kept, blob(b, 0))), original);
    assert.equal(filesUnder(kept).length, 5 + 2, `only what changed: ${filesUnder(kept).join(', ')}`);
    assert.deepEqual(readFileSync(path.join(kept, blob(b, 1))), goneContent);
    const outcome = await p.finish();
    assert.equal(outcome.made, path.basename(kept));
    // The version is now whole: every file of the old backup, none the run added, no marker.
    assert.equal(existsSync(path.join(kept, RUN_MARKER)), false);
    assert.equal(
      existsSync(path.join(kept, 'ff', 'f'.repeat(40))),
      false,
      'a file the run added is not in the version',
    );
    assert.deepEqual(readFileSync(path.join(kept, blob(b, 0))), original);
    assert.equal((await verifyBackupAt(kept)).ok, true);
    // Unchanged files are the same inodes as in the current backup: no data copied.
    const same = blob(b, 3);
    assert.equal(statSync(path.join(kept, same)).ino, statSync(path.join(dir, same)).ino);
  });

  for (const kinds of [true, false]) {
    test(`a completing run links every untouched file without looking at it in the current backup (${kinds ? 'kinds from the listing' : 'no kinds: one look per entry'}); the history's figures come from its scan`, async () => {
      const { root, b, dir } = setup();
      const looked: string[] = [];
      const fs: FsLayer = {
        ...nodeFs,
        lstat: (p) => (looked.push(p), nodeFs.lstat(p)),
        lstatIfExists: (p) => (looked.push(p), lstatMaybe(nodeFs, p)),
      };
      if (!kinds) delete fs.readdirKinds;
      const p = new Preserver(root, b.udid, { fs });
      const changed = path.join(dir, blob(b, 0));
      await p.beforeChange(changed, true);
      replace(changed, 'changed');
      const before = looked.length;
      const outcome = await p.finish();
      const kept = versionDir(root, b.udid, outcome.made as string);
      const blobs = filesUnder(dir).filter((f) => f.includes(path.sep));
      const lookedAtBlobs = looked.slice(before).filter((f) => f.startsWith(dir + path.sep) && /[0-9a-f]{40}$/.test(f));
      assert.equal(lookedAtBlobs.length, kinds ? 0 : blobs.length);
      assert.deepEqual(
        filesUnder(kept).filter((f) => f.includes(path.sep)),
        blobs,
        'every blob of the old backup is in the version',
      );
      assert.notEqual(statSync(path.join(kept, blob(b, 0))).ino, statSync(changed).ino, 'the kept one is the original');
      assert.equal(statSync(path.join(kept, blob(b, 1))).ino, statSync(path.join(dir, blob(b, 1))).ino);
      assert.equal((await verifyBackupAt(kept)).ok, true);
      const scan = path.join(root, '.ibackup', 'history', b.udid, 'scans', `${outcome.made as string}.bin`);
      assert.ok(existsSync(scan), 'the version was scanned as it was completed');
      const h = await readHistory(root, b.udid);
      const v = h.versions.find((x) => x.id === outcome.made);
      assert.equal(v?.files, blobs.length, "the history counts the version's files from the scan");
    });
  }

  test('a folder the run removes or moves away is kept whole, staging aside', async () => {
    const { root, b, dir } = setup();
    const p = new Preserver(root, b.udid);
    const folder = path.dirname(path.join(dir, blob(b, 2)));
    const inside = filesUnder(folder);
    assert.ok(inside.length > 0);
    mkdirSync(path.join(dir, 'Snapshot', 'aa'), { recursive: true });
    writeFileSync(path.join(dir, 'Snapshot', 'aa', 'staged'), 'staged');
    await p.beforeChange(folder, true);
    const kept = keptVersion(root, b.udid);
    rmSync(folder, { recursive: true });
    assert.deepEqual(filesUnder(path.join(kept, path.basename(folder))), inside);
    await p.beforeChange(dir, true); // the whole folder (a rename of the device's folder)
    assert.deepEqual(
      filesUnder(kept).filter((f) => f !== RUN_MARKER),
      [
        ...filesUnder(dir).filter((f) => !f.startsWith('Snapshot')),
        ...inside.map((f) => path.join(path.basename(folder), f)),
      ].sort(),
    );
  });

  test('a version a live run fills is refused to readers; once the run is dead, reading the history completes it and it verifies', async () => {
    const { root, b, dir } = setup();
    const before = await verifyBackupAt(dir);
    assert.equal(before.ok, true);
    const p = new Preserver(root, b.udid);
    const a = path.join(dir, blob(b, 0));
    await p.beforeChange(a, true);
    const kept = keptVersion(root, b.udid);
    replace(a, 'changed by the run');
    const status = path.join(dir, 'Status.plist');
    await p.beforeChange(status, true);
    markUploading(dir);

    const live = await readHistory(root, b.udid);
    assert.deepEqual(live.busy, [path.basename(kept)]);
    assert.equal(live.versions.length, 0);
    await assert.rejects(
      resolveBackupArg(b.udid, [root]),
      (err: unknown) => isIbackupError(err) && err.code === 'BUSY' && /running/.test(err.message),
    );
    assert.ok(existsSync(path.join(kept, RUN_MARKER)), 'a live copy is left to its run');

    writeFileSync(path.join(kept, RUN_MARKER), JSON.stringify({ pid: deadPid() }));
    const h = await readHistory(root, b.udid);
    assert.deepEqual(
      h.versions.map((v) => v.path),
      [kept],
    );
    assert.equal(h.unfinished, dir);
    const du = execFileSync('du', ['-sbc', dir, path.dirname(kept)], { encoding: 'utf8' })
      .trim()
      .split('\n');
    assert.equal(historyBytes(h), Number((du[du.length - 1] as string).split('\t')[0]), 'the figures add up to du');
    assert.ok(h.unfinishedBytes > 0);
    assert.equal((await listBackups(root)).find((x) => x.kind === 'current')?.complete, false);
    assert.equal(existsSync(path.join(kept, RUN_MARKER)), false);
    assert.deepEqual(
      filesUnder(kept),
      filesUnder(dir).filter((f) => !f.startsWith('Snapshot')),
    );
    assert.equal(await resolveBackupArg(b.udid, [root]), kept);
    const after = await verifyBackupAt(kept);
    assert.equal(after.ok, true, JSON.stringify(after.problems.slice(0, 3)));
    assert.equal(await settleKeptCopy(kept), false); // a second time: nothing to do
    assert.deepEqual(
      filesUnder(kept),
      filesUnder(dir).filter((f) => !f.startsWith('Snapshot')),
    );
  });

  test('a run that fails completes the copy it was filling; the next run keeps it until it completes', async () => {
    const { root, b, dir } = setup();
    const p = new Preserver(root, b.udid);
    const status = path.join(dir, 'Status.plist');
    await p.beforeChange(status, true);
    const kept = keptVersion(root, b.udid);
    markUploading(dir);
    await p.abandon();
    assert.equal(p.status, 'kept');
    assert.equal(existsSync(path.join(kept, RUN_MARKER)), false);
    assert.equal((await verifyBackupAt(kept)).ok, true);

    const next = new Preserver(root, b.udid);
    await next.beforeChange(path.join(dir, blob(b, 0)), true);
    assert.equal(next.status, 'kept', 'the device folder is incomplete: the kept version stays as it is');
    assert.equal((await verifyBackupAt(kept)).ok, true);
    assert.deepEqual(await versionFolderIds(root, b.udid), [path.basename(kept)]);
  });
});

describe('a copy kept by an earlier release', () => {
  test('.ibackup/previous/<UDID> left by an interrupted run becomes the newest version, completed', async () => {
    const { root, b, dir } = setup();
    const old = path.join(root, '.ibackup', 'previous', b.udid);
    mkdirSync(old, { recursive: true });
    for (const name of ['Info.plist', 'Status.plist', 'Manifest.plist', 'Manifest.db'])
      writeFileSync(path.join(old, name), readFileSync(path.join(dir, name)));
    writeFileSync(path.join(old, RUN_MARKER), JSON.stringify({ pid: deadPid() }));
    markUploading(dir); // that run left the device's folder unfinished
    const h = await readHistory(root, b.udid);
    assert.equal(h.versions.length, 1);
    assert.equal(h.unfinished, dir);
    assert.equal(existsSync(old), false, 'moved in among the versions');
    const adopted = h.versions[0]?.path as string;
    assert.equal(existsSync(path.join(adopted, RUN_MARKER)), false);
    assert.deepEqual(
      filesUnder(adopted),
      filesUnder(dir).filter((f) => !f.startsWith('Snapshot')),
    );
    assert.equal(await resolveBackupArg(b.udid, [root]), adopted, 'it is the last complete backup');
  });
});
