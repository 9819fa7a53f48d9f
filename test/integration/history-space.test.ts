/**
 * What backup history costs on disk. After a full backup and N incremental ones with k files
 * changed on the phone before each, the phone's backup folder and its versions together take one
 * backup, plus the files each run brought (added or changed, read from the manifests), plus each
 * folder's own metadata (its top-level plists and Manifest.db) and folders — within 1% of `du`.
 * Also: `ibackup history`'s figures add up to that `du` exactly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { diffVersions, showHistory } from '../../src/app/history.js';
import { versionsDir } from '../../src/backup/versions.js';
import { startBench } from '../support/bench.js';
import { pairedHost, virtualDevice } from '../support/crash-safety.js';

const ROUNDS = 5;
const CHANGED = 5;
const TOP = ['Info.plist', 'Status.plist', 'Manifest.plist', 'Manifest.db'];

/** `du -sb` of folders together (a file linked in several counted once). */
function du(...dirs: string[]): number {
  const out = execFileSync('du', ['-sbc', ...dirs], { encoding: 'utf8' })
    .trim()
    .split('\n');
  return Number((out[out.length - 1] as string).split('\t')[0]);
}

/** A backup folder's own metadata: its top-level files and every folder in it (itself included). */
function metadataBytes(dir: string): number {
  let total = TOP.reduce((n, name) => n + (lstatSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0), 0);
  const walk = (d: string): void => {
    total += lstatSync(d).size;
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(dir);
  return total;
}

describe('backup history on disk', () => {
  test(`after ${ROUNDS} versions with ${CHANGED} changed files each: one backup + changes + metadata`, async () => {
    const b = await startBench();
    try {
      const udid = b.te.udids[0] as string;
      const root = b.backupDir;
      const host = await pairedHost(b, udid);
      const rt = virtualDevice(b, udid).runtime;
      assert.ok(rt);
      let clock = Date.UTC(2026, 2, 1, 9, 0, 0);
      const now = (): Date => new Date((clock += 3_600_000));
      const first = await backupDevice(host, { root, now });
      const current = join(root, udid);
      const firstBlobs = du(current) - metadataBytes(current);
      let brought = 0;
      let metadata = 0;
      for (let i = 0; i < ROUNDS; i++) {
        metadata += metadataBytes(current); // this folder's metadata stays with its version
        await rt.mutate('modify', CHANGED);
        await backupDevice(host, { root, now });
        const d = await diffVersions(current, 'previous', 'latest');
        brought += [...d.added, ...d.changed].reduce((n, e) => n + e.size, 0);
      }
      metadata += metadataBytes(current);
      const expected = firstBlobs + brought + metadata;
      const actual = du(current, versionsDir(root, udid));
      const h = await showHistory(current);
      process.stderr.write(
        `history space: du ${actual} B; expected ${expected} B = first backup's files ${firstBlobs} + brought ${brought} + metadata ${metadata}; ` +
          `one backup alone ${first.sizeBytes} B; ${h.versions.length} versions; history total ${h.totalBytes} B\n`,
      );
      assert.equal(h.versions.length, ROUNDS + 1);
      assert.ok(Math.abs(actual - expected) / actual < 0.01, `du ${actual} vs expected ${expected}`);
      assert.equal(h.totalBytes, actual, "history: the versions' own bytes plus the shared ones are du");
      assert.ok(actual < first.sizeBytes * 2, 'a version costs its changes, not a copy');
    } finally {
      await b.dispose();
    }
  });
});
