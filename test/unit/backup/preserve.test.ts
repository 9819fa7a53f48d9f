/**
 * Keeping the last complete backup (src/backup/preserve.ts) on hand-made backup folders: a run
 * keeps only what it replaces or removes (plus the top-level files), a copy a live run fills is
 * listed busy and refused to readers, one a dead run left is completed from the unchanged files
 * and verifies, and a second change of a file never overwrites what was kept of it.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveBackupArg } from '../../../src/app/open-backup.js';
import { verifyBackupAt } from '../../../src/app/verify.js';
import { serializeBinaryPlist } from '../../../src/protocol/plist/index.js';
import { listBackups } from '../../../src/backup/list.js';
import { Preserver, RUN_MARKER, completeKeptCopy, keptCopyRun, previousDir } from '../../../src/backup/preserve.js';
import { isIbackupError } from '../../../src/errors.js';
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

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid as number;
}

describe('keeping the last complete backup', () => {
  test('a run keeps the top-level files and each file just before it is replaced or removed; nothing else', async () => {
    const { root, b, dir } = setup();
    const p = new Preserver(root, b.udid);
    const kept = previousDir(root, b.udid);
    const a = path.join(dir, blob(b, 0));
    const original = readFileSync(a);
    await p.beforeChange(path.join(dir, 'Snapshot'), false);
    assert.equal(p.status, 'preserving');
    assert.deepEqual(
      filesUnder(kept),
      [RUN_MARKER, 'Info.plist', 'Manifest.db', 'Manifest.plist', 'Status.plist'].sort(),
    );
    assert.deepEqual(keptCopyRun(kept), { pid: process.pid, running: true });

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
    await p.release();
    assert.equal(existsSync(kept), false);
  });

  test('a folder the run removes or moves away is kept whole, staging aside', async () => {
    const { root, b, dir } = setup();
    const p = new Preserver(root, b.udid);
    const kept = previousDir(root, b.udid);
    const folder = path.dirname(path.join(dir, blob(b, 2)));
    const inside = filesUnder(folder);
    assert.ok(inside.length > 0);
    mkdirSync(path.join(dir, 'Snapshot', 'aa'), { recursive: true });
    writeFileSync(path.join(dir, 'Snapshot', 'aa', 'staged'), 'staged');
    await p.beforeChange(folder, true);
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

  test('a copy a live run fills is listed busy and refused to readers; once the run is dead, list completes it and it verifies', async () => {
    const { root, b, dir } = setup();
    const before = await verifyBackupAt(dir);
    assert.equal(before.ok, true);
    const p = new Preserver(root, b.udid);
    const kept = previousDir(root, b.udid);
    const a = path.join(dir, blob(b, 0));
    await p.beforeChange(a, true);
    replace(a, 'changed by the run');
    const status = path.join(dir, 'Status.plist');
    await p.beforeChange(status, true);
    markUploading(dir);

    const live = (await listBackups(root)).find((x) => x.kind === 'previous');
    assert.ok(live);
    assert.equal(live.busy, true);
    assert.equal(live.complete, true);
    await assert.rejects(
      resolveBackupArg(b.udid, [root]),
      (err: unknown) => isIbackupError(err) && err.code === 'BUSY' && /running/.test(err.message),
    );
    assert.ok(existsSync(path.join(kept, RUN_MARKER)), 'a live copy is left to its run');

    writeFileSync(path.join(kept, RUN_MARKER), JSON.stringify({ pid: deadPid() }));
    const listed = await listBackups(root);
    const copy = listed.find((x) => x.kind === 'previous');
    assert.ok(copy && copy.complete && copy.busy === undefined, JSON.stringify(copy));
    assert.equal(listed.find((x) => x.kind === 'current')?.complete, false);
    assert.equal(existsSync(path.join(kept, RUN_MARKER)), false);
    assert.deepEqual(
      filesUnder(kept),
      filesUnder(dir).filter((f) => !f.startsWith('Snapshot')),
    );
    assert.equal(await resolveBackupArg(b.udid, [root]), kept);
    const after = await verifyBackupAt(kept);
    assert.equal(after.ok, true, JSON.stringify(after.problems.slice(0, 3)));
    await completeKeptCopy(kept); // a second time: nothing to do
    assert.deepEqual(
      filesUnder(kept),
      filesUnder(dir).filter((f) => !f.startsWith('Snapshot')),
    );
  });

  test('a run that fails completes the copy it was filling; the next run keeps it until it completes', async () => {
    const { root, b, dir } = setup();
    const p = new Preserver(root, b.udid);
    const kept = previousDir(root, b.udid);
    const status = path.join(dir, 'Status.plist');
    await p.beforeChange(status, true);
    markUploading(dir);
    await p.abandon();
    assert.equal(p.status, 'kept');
    assert.equal(existsSync(path.join(kept, RUN_MARKER)), false);
    assert.equal((await verifyBackupAt(kept)).ok, true);

    const next = new Preserver(root, b.udid);
    await next.beforeChange(path.join(dir, blob(b, 0)), true);
    assert.equal(next.status, 'kept', 'the device folder is incomplete: the kept copy stays as it is');
    assert.equal((await verifyBackupAt(kept)).ok, true);
  });
});
