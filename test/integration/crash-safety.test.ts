/**
 * Crash safety of `ibackup backup`: the last complete backup survives a run that dies at any
 * point (a pulled cable at seeded random byte offsets across the upload, the moves, the removes
 * and the final Status upload; kill -9 of ibackup itself), `list` and `info` say which backup is
 * the last complete one, and the next backup completes. Flushes are batched and complete.
 * Replay a failure with IBACKUP_SEED=<seed printed below>.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom } from '../support/random.js';
import { backupDevice } from '../../src/app/backup.js';
import { isIbackupError } from '../../src/errors.js';
import { folderSize } from '../../src/backup/folder-size.js';
import { json, startBench, type Bench } from '../support/bench.js';
import {
  RecordingFs,
  assertRecoverable,
  assertReleased,
  disconnectInPhase,
  lastComplete,
  measurePhases,
  newestVersionDir,
  pairedHost,
  virtualDevice,
} from '../support/crash-safety.js';
import type { HostDevice } from '../../src/host/device.js';

const SEED = Number(process.env.IBACKUP_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`crash-safety seed: ${SEED} (replay with IBACKUP_SEED=${SEED})`);

interface World {
  b: Bench;
  udid: string;
  host: HostDevice;
  root: string;
}

async function world(): Promise<World> {
  const b = await startBench();
  const udid = b.te.udids[0] as string;
  const host = await pairedHost(b, udid);
  return { b, udid, host, root: b.backupDir };
}

/** Changes the phone so the next backup uploads, moves and removes. */
async function change(w: World): Promise<void> {
  const rt = virtualDevice(w.b, w.udid).runtime;
  assert.ok(rt);
  await rt.mutate('modify', 3);
  await rt.mutate('delete', 2);
  await rt.mutate('add', 3);
}

/** A backup that must complete, leaving the device's folder as the only, released, last complete backup. */
async function completes(w: World, what: string): Promise<void> {
  const r = await backupDevice(w.host, { root: w.root });
  assert.equal(r.path, join(w.root, w.udid));
  // The size is followed change by change when the last run completed, measured otherwise: both true.
  assert.equal(r.sizeBytes, await folderSize(r.path), `${what}: the size reported is the folder's`);
  assertReleased(w.root, w.udid);
  const last = await assertRecoverable(w.root, w.udid, `${what}, next backup`);
  assert.equal(last.kind, 'current');
}

/** A backup that is interrupted: it must end with a typed error (or complete, when the cut came after the end). */
async function interrupted(w: World, what: string): Promise<void> {
  try {
    await backupDevice(w.host, { root: w.root });
  } catch (err) {
    assert.ok(isIbackupError(err), `${what}: untyped error ${String(err)}`);
  }
}

describe('crash safety', () => {
  test('everything written is flushed before "finished" is accepted; no fsync per file on the hot path; hard links, no copies', async () => {
    const w = await world();
    try {
      const fs1 = new RecordingFs();
      await backupDevice(w.host, { root: w.root, fs: fs1 });
      assert.deepEqual(fs1.unflushedAtComplete, [], 'first backup: written but not flushed');
      assert.deepEqual(fs1.earlyFileSyncs, []);
      if (process.platform === 'linux') assert.equal(fs1.syncFsCalls, 1, 'one syncfs for the whole run');

      await change(w);
      const fs2 = new RecordingFs();
      fs2.noSyncFs = true; // where syncfs is missing: parallel fsyncs of every file and folder
      const seen: Array<{ nlink: number; same: boolean }> = [];
      const rt = virtualDevice(w.b, w.udid).runtime;
      assert.ok(rt);
      const probe = async (phase: string): Promise<void> => {
        if (phase !== 'moving') return;
        const kept = await lstat(join(newestVersionDir(w.root, w.udid) ?? '', 'Manifest.db'));
        const cur = await lstat(join(w.root, w.udid, 'Manifest.db'));
        seen.push({ nlink: kept.nlink, same: kept.ino === cur.ino });
      };
      rt.checkpoints.push(probe);
      try {
        const r2 = await backupDevice(w.host, { root: w.root, fs: fs2 });
        assert.equal(r2.sizeBytes, await folderSize(r2.path), "incremental: the size followed is the folder's");
      } finally {
        rt.checkpoints = rt.checkpoints.filter((c) => c !== probe);
      }
      assert.deepEqual(fs2.unflushedAtComplete, [], 'incremental: written but not flushed');
      assert.deepEqual(fs2.earlyFileSyncs, [], 'a file was fsynced before the final flush');
      const order = fs2.events.map((e) => e.name);
      assert.deepEqual(order, ['flush-start', 'flushed', 'complete', 'released']);
      assert.ok(
        seen.length > 0 && seen.every((s) => s.same && s.nlink >= 2),
        `preserved by hard link: ${JSON.stringify(seen)}`,
      );
      assertReleased(w.root, w.udid);
    } finally {
      await w.b.dispose();
    }
  });

  test('a run cut during the moves: list and info report the preserved copy; the next backup completes', async () => {
    const w = await world();
    try {
      await completes(w, 'first');
      const before = await lastComplete(w.root, w.udid);
      await change(w);
      const dev = virtualDevice(w.b, w.udid);
      const m = measurePhases(dev);
      await completes(w, 'measure');
      m.clear();
      const moving = m.phases.find((p) => p.phase === 'moving');
      const removing = m.phases.find((p) => p.phase === 'removing');
      assert.ok(moving && removing);
      await change(w);
      const undo = disconnectInPhase(dev, 'moving', Math.floor((removing.at - moving.at) / 2));
      try {
        await interrupted(w, 'cut in the moves');
      } finally {
        undo();
      }
      const last = await assertRecoverable(w.root, w.udid, 'cut in the moves');
      assert.equal(last.kind, 'version');
      assert.notEqual(last.date, before?.date);
      const listed = json<{ backups: Array<{ kind: string; complete: boolean; lastComplete: boolean }> }>(
        (await w.b.cli(['--json', 'list'])).stdout,
      );
      assert.deepEqual(
        listed.backups.map((x) => [x.kind, x.complete, x.lastComplete]),
        [['version', true, true]],
        'one row for the phone: its last complete backup',
      );
      const info = json<{ lastBackup: string | null; lastBackupPath?: string }>(
        (await w.b.cli(['--json', 'info'])).stdout,
      );
      assert.equal(info.lastBackup, last.date);
      if (info.lastBackupPath !== undefined) assert.equal(info.lastBackupPath, last.path);
      const verified = await w.b.cli(['--json', 'verify', w.udid], { timeoutMs: 60_000 });
      assert.equal(
        verified.code,
        0,
        `ibackup verify of the last complete backup: ${verified.stdout}${verified.stderr}`,
      );
      assert.equal(json<{ ok: boolean }>(verified.stdout).ok, true);
      await completes(w, 'after the cut');
    } finally {
      await w.b.dispose();
    }
  });

  test(
    '20 seeded random disconnects across upload, moves, removes and the final Status upload',
    { timeout: 600_000 },
    async () => {
      const rnd = seededRandom(SEED);
      const w = await world();
      try {
        await completes(w, 'first');
        await change(w);
        const dev = virtualDevice(w.b, w.udid);
        const m = measurePhases(dev);
        await completes(w, 'measure');
        m.clear();
        const at = (name: string): number =>
          m.phases.find((p) => p.phase === name)?.at ?? assert.fail(`no ${name} phase`);
        // Offsets are counted from the start of a phase (the bytes before it vary with what changed).
        const upload = at('moving') - at('uploading');
        const moves = at('removing') - at('moving');
        const tail = at('finished') - at('removing');
        const plan: Array<[string, string, () => number]> = [
          ...Array.from({ length: 8 }, (): [string, string, () => number] => [
            'upload',
            'uploading',
            () => Math.floor(rnd() * upload * 0.5),
          ]),
          ...Array.from({ length: 5 }, (): [string, string, () => number] => [
            'moves',
            'moving',
            () => Math.floor(rnd() * moves),
          ]),
          ...Array.from({ length: 4 }, (): [string, string, () => number] => [
            'removes',
            'removing',
            () => Math.floor(rnd() * Math.max(1, tail - 700)),
          ]),
          ...Array.from({ length: 3 }, (): [string, string, () => number] => [
            'final Status upload',
            'removing',
            () => tail - 1 - Math.floor(rnd() * 600),
          ]),
        ];
        for (const [name, phase, pick] of plan) {
          const delta = pick();
          const what = `seed ${SEED}: cut in the ${name}, ${delta} bytes after "${phase}" began`;
          await change(w);
          const undo = disconnectInPhase(dev, phase, delta);
          try {
            await interrupted(w, what);
          } finally {
            undo();
          }
          await assertRecoverable(w.root, w.udid, what);
          await completes(w, what);
        }
      } finally {
        await w.b.dispose();
      }
    },
  );

  test('hard links impossible: a plain error without consent, a copy with --allow-copy', async () => {
    const w = await world();
    try {
      await completes(w, 'first');
      const info = await readFile(join(w.root, w.udid, 'Info.plist'));
      const fs = new RecordingFs();
      fs.inject = (op) => (op === 'link' ? 'EPERM' : undefined);
      await assert.rejects(backupDevice(w.host, { root: w.root, fs }), (err: unknown) => {
        assert.ok(isIbackupError(err));
        assert.equal(err.code, 'HARD_LINKS_UNSUPPORTED');
        assert.match(err.message, /cannot make hard links/);
        assert.match(err.remedy, /--allow-copy/);
        return true;
      });
      assert.deepEqual(await readFile(join(w.root, w.udid, 'Info.plist')), info, 'nothing changed');
      await assertRecoverable(w.root, w.udid, 'refused');
      await change(w);
      const copies: string[] = [];
      const fs2 = new RecordingFs();
      fs2.inject = (op, p) => {
        if (op === 'copyFile') copies.push(p);
        return op === 'link' ? 'EPERM' : undefined;
      };
      await backupDevice(w.host, { root: w.root, fs: fs2, allowCopy: true });
      assert.ok(
        copies.some((p) => p.includes(join('.ibackup', 'versions'))),
        'copied into the kept version',
      );
      assertReleased(w.root, w.udid);
      await assertRecoverable(w.root, w.udid, 'copied');
      assert.equal(newestVersionDir(w.root, w.udid), undefined, 'no hard links: no history is kept');
    } finally {
      await w.b.dispose();
    }
  });
});
