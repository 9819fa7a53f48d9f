/**
 * kill -9 of `ibackup backup` at six points of a run (after planning, once Status says
 * "uploading", in the middle of the upload, before the moves, before the removes, after the final
 * Status upload): each time the last complete backup passes verify and reads back completely,
 * `list` names it, and the next `ibackup backup` completes, releases the preserved copy and removes
 * the files the killed run left unfinished.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { folderSize } from '../../src/backup/folder-size.js';
import { json, startBench } from '../support/bench.js';
import {
  assertRecoverable,
  assertReleased,
  pairedHost,
  tapBackupService,
  virtualDevice,
} from '../support/crash-safety.js';

/** Files a killed run left half-written (`<name>.tmp-<pid>`), anywhere in the device's folder. */
function unfinished(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((name) => /\.tmp-\d+$/.test(name));
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
});
