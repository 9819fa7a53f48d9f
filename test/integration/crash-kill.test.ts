/**
 * kill -9 of `ibackup backup` at six points of a run (after planning, once Status says
 * "uploading", in the middle of the upload, before the moves, before the removes, after the final
 * Status upload): each time the last complete backup passes verify and reads back completely,
 * `list` names it, and the next `ibackup backup` completes, releases the preserved copy and removes
 * the files the killed run left unfinished. And an encrypted backup whose key is saved (the case
 * where a run keeps what an interrupted run staged in Snapshot/ for the device to reuse), killed in
 * the middle of its uploads: the uploads it was writing under their final names, still marked
 * unfinished, are removed before the device looks, and the next backup completes and verifies.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { checkBackupPassword } from '../../src/app/password.js';
import { KeyCache } from '../../src/backup/crypto/key-cache.js';
import { isUnfinished } from '../../src/backup/fs-layer.js';
import { parseFault } from '../../src/emulator/faults.js';
import { folderSize } from '../../src/backup/folder-size.js';
import { json, startBench } from '../support/bench.js';
import {
  assertRecoverable,
  assertReleased,
  pairedHost,
  tapBackupService,
  virtualDevice,
} from '../support/crash-safety.js';

/**
 * Files a killed run left half-written, anywhere in the device's folder: temporary names
 * (`<name>.tmp-<pid>`) and uploads written under their final names and never marked finished.
 */
function unfinished(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((name) => {
    if (/\.tmp-\d+$/.test(name)) return true;
    const st = lstatSync(join(dir, name), { throwIfNoEntry: false });
    return st !== undefined && isUnfinished(st);
  });
}

function exited(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done(child.signalCode ?? child.exitCode);
    else child.once('exit', (code, signal) => done(signal ?? code));
  });
}

describe('kill -9', () => {
  test(
    'at six points of a run: the last complete backup survives and the next backup completes',
    { timeout: 300_000 },
    async () => {
      const b = await startBench();
      try {
        const udid = b.te.udids[0] as string;
        const root = b.backupDir;
        const host = await pairedHost(b, udid);
        await backupDevice(host, { root });
        const dev = virtualDevice(b, udid);
        const rt = dev.runtime;
        assert.ok(rt);
        const points: Array<{ name: string; phase: string; bytes?: number }> = [
          { name: 'after planning', phase: 'planning' },
          { name: 'once Status says uploading', phase: 'uploading' },
          { name: 'in the middle of the upload', phase: 'uploading', bytes: 200_000 },
          { name: 'before the moves', phase: 'moving' },
          { name: 'before the removes', phase: 'removing' },
          { name: 'after the final Status upload', phase: 'finished' },
        ];
        for (const point of points) {
          await rt.mutate('add', 4);
          await rt.mutate('modify', 3);
          await rt.mutate('delete', 2);
          const child = b.spawnCli(['--json', 'backup']);
          const gone = exited(child);
          let killed = false;
          const kill = async (): Promise<void> => {
            if (killed) return;
            killed = true;
            child.kill('SIGKILL');
            await gone;
          };
          let sent: number | undefined;
          const untap = tapBackupService(dev, (n) => {
            if (sent !== undefined) {
              sent += n;
              if (point.bytes !== undefined && sent >= point.bytes) void kill();
            }
            return n;
          });
          const hook = async (phase: string): Promise<void> => {
            if (phase !== point.phase || killed) return;
            if (point.bytes !== undefined) {
              sent ??= 0;
              return;
            }
            await kill();
            throw new Error(`ibackup was killed ${point.name}`);
          };
          rt.checkpoints.push(hook);
          try {
            const end = await gone;
            assert.equal(end, 'SIGKILL', `${point.name}: ibackup was not killed (exit ${String(end)})`);
          } finally {
            untap();
            rt.checkpoints = rt.checkpoints.filter((c) => c !== hook);
          }
          const last = await assertRecoverable(root, udid, `killed ${point.name}`);
          const listed = json<{ backups: Array<{ path: string; lastComplete: boolean }> }>(
            (await b.cli(['--json', 'list'])).stdout,
          );
          assert.deepEqual(
            listed.backups.filter((x) => x.lastComplete).map((x) => x.path),
            [last.path],
          );
          const next = await b.cli(['--json', 'backup'], { timeoutMs: 120_000 });
          assert.equal(next.code, 0, `killed ${point.name}, next backup: ${next.stdout}${next.stderr}`);
          const reported = json<{ sizeBytes: number }>(next.stdout).sizeBytes;
          assert.equal(
            reported,
            await folderSize(join(root, udid)),
            `killed ${point.name}: the next backup's size is the folder's`,
          );
          assertReleased(root, udid);
          assert.deepEqual(
            unfinished(join(root, udid)),
            [],
            `killed ${point.name}: the next backup left the killed run's temp files`,
          );
          const after = await assertRecoverable(root, udid, `killed ${point.name}, next backup`);
          assert.equal(after.kind, 'current');
        }
      } finally {
        await b.dispose();
      }
    },
  );

  test(
    'in the middle of an encrypted backup whose key is saved: its unfinished uploads are removed and the next backup completes',
    { timeout: 300_000 },
    async () => {
      const password = 'kill-nine';
      const b = await startBench({ profile: { extends: 'tiny', behaviour: { keyDerivationIterations: 1000 } } });
      try {
        const udid = b.te.udids[0] as string;
        const root = b.backupDir;
        const dev = virtualDevice(b, udid);
        await dev.state.updateSettings({ backupPassword: password });
        const host = await pairedHost(b, udid);
        // The CLI's key cache (XDG_CONFIG_HOME/ibackup/keys), so the CLI runs need no password.
        const keyCache = new KeyCache({ dir: join(b.configHome, 'ibackup', 'keys') });
        await backupDevice(host, { root, unlock: { keyCache, password: async () => password } });
        await checkBackupPassword(join(root, udid), { keyCache, saveKey: true, password: async () => password });
        const rt = dev.runtime;
        assert.ok(rt);
        let leftUnfinished = 0;
        for (let round = 0; round < 3; round++) {
          await rt.mutate('add', 40);
          await rt.mutate('modify', 10);
          // Slow uploads, so that files are being written when the kill lands.
          rt.faults.set(parseFault('throttle', { mbps: '8' }));
          const child = b.spawnCli(['--json', 'backup']);
          const gone = exited(child);
          // Killed the moment an upload is being written under its final name.
          const watch = setInterval(() => {
            if (unfinished(join(root, udid)).length > 0) child.kill('SIGKILL');
          }, 2);
          try {
            assert.equal(await gone, 'SIGKILL', `round ${round}: ibackup was not killed`);
          } finally {
            clearInterval(watch);
          }
          leftUnfinished += unfinished(join(root, udid)).length;
          await assertRecoverable(root, udid, `killed in round ${round}`, password);
          const next = await b.cli(['--json', 'backup'], { timeoutMs: 120_000 });
          assert.equal(next.code, 0, `round ${round}, next backup: ${next.stdout}${next.stderr}`);
          assert.deepEqual(unfinished(join(root, udid)), [], `round ${round}: unfinished files left`);
          const after = await assertRecoverable(root, udid, `round ${round}, next backup`, password);
          assert.equal(after.kind, 'current');
        }
        // The kills landed while files were being written, or the test proves nothing.
        assert.ok(leftUnfinished > 0, 'no kill left an unfinished upload behind');
      } finally {
        await b.dispose();
      }
    },
  );
});
