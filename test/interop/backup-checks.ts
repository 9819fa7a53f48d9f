/**
 * Checks shared by the idevicebackup2 tests: a backup folder read back with ibackup's independent
 * reader must hold exactly the virtual iPhone's content, and idevicebackup2 runs that the test
 * can stop (libimobiledevice 1.3 never notices a connection closed under it while it receives).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openBackup } from '../../src/backup/open.js';
import { readStatusPlist } from '../../src/backup/status.js';
import { verifyBackup } from '../../src/backup/verify.js';
import type { VirtualDevice } from '../../src/emulator/device.js';
import type { DeviceRuntime } from '../../src/emulator/device-services.js';
import { UNREADABLE_FROM_IOS_17 } from '../../src/emulator/services/mobilebackup2/unreadable.js';
import { TOOL_TIMEOUT_SECONDS, type TestEmulator, type ToolResult } from './helpers.js';

/**
 * Files idevicebackup2 receives in every backup besides the blobs: Status.plist four times
 * (SnapshotState uploading, moving, removing, finished) and Snapshot/Manifest.plist and
 * Snapshot/Manifest.db once each. "Received N files" = changed files + this.
 */
export const FIXED_UPLOADS = 6;

export function runtimeOf(device: VirtualDevice): DeviceRuntime {
  const rt = device.runtime;
  assert.ok(rt, 'the virtual device has no runtime');
  return rt;
}

/** N of idevicebackup2's "Received N files from device." (fails when absent). */
export function receivedFiles(stdout: string): number {
  const m = /Received (\d+) files from device\./.exec(stdout);
  assert.ok(m, `no "Received N files" line in: ${stdout.slice(-800)}`);
  return Number(m[1]);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Blob files on disk, `<fileID>` → path, under `<dir>/xx/`. */
export async function blobFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const shard of await readdir(dir)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const id of await readdir(join(dir, shard))) out.set(id, join(dir, shard, id));
  }
  return out;
}

/** Modification times of every blob (a re-sent file gets a new one; a moved one keeps it). */
export async function blobTimes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [id, path] of await blobFiles(dir)) out.set(id, (await stat(path)).mtimeMs);
  return out;
}

/**
 * The backup in `dir` is finished, verifies, and holds exactly the device's unencrypted-backup
 * content: one row per entry with the same domain, path, kind, size, mode (and target), every
 * file's bytes equal to the device's (SHA-1), no other rows and no other blobs. Returns the count
 * of files.
 */
export async function assertBackupEqualsDevice(dir: string, rt: DeviceRuntime): Promise<number> {
  const verdict = await verifyBackup(dir);
  // A file the phone could not read to its end (iOS 17+, unreadable.ts) holds the part it sent.
  const partial = new Set(UNREADABLE_FROM_IOS_17.map((u) => `${u.domain}/${u.relativePath}`));
  const problems = verdict.problems.filter(
    (p) =>
      !(p.path !== undefined && partial.has(p.path) && (p.code === 'BLOB_SIZE' || p.code === 'UNREADABLE_ON_DEVICE')),
  );
  assert.deepEqual(problems, [], `verifyBackup: ${JSON.stringify(problems.slice(0, 5))}`);
  const status = await readStatusPlist(dir);
  assert.equal(status.snapshotState, 'finished');
  assert.equal(existsSync(join(dir, 'Snapshot')), false, 'Snapshot/ is left behind');

  const backup = await openBackup(dir);
  let files = 0;
  try {
    const rows = new Map([...backup.db.iterate()].map((r) => [`${r.domain}\0${r.relativePath}`, r]));
    const entries = [...rt.content.entries({ encrypted: false })];
    for (const e of entries) {
      const key = `${e.domain}\0${e.relativePath}`;
      const row = rows.get(key);
      const name = `${e.domain}/${e.relativePath}`;
      assert.ok(row, `no Manifest.db row for ${name}`);
      rows.delete(key);
      assert.equal(row.domain, e.domain);
      assert.equal(row.relativePath, e.relativePath);
      assert.equal(row.flags, e.kind === 'file' ? 1 : e.kind === 'directory' ? 2 : 4, `${name}: flags`);
      assert.equal(row.file?.mode, e.mode, `${name}: mode`);
      if (e.kind === 'file') {
        files++;
        assert.equal(Number(row.file?.size), e.size, `${name}: size`);
        const bytes = await backup.readFile(row);
        if (partial.has(name) && bytes.length < e.size) {
          const sent = await rt.content.read(e, 0, bytes.length);
          assert.ok(Buffer.from(bytes).equals(Buffer.from(sent)), `${name}: the part sent`);
          continue;
        }
        assert.equal(bytes.length, e.size, `${name}: blob length`);
        assert.equal(createHash('sha1').update(bytes).digest('hex'), hex(await rt.content.digest(e)), `${name}: bytes`);
      } else if (e.kind === 'symlink') {
        assert.equal(row.file?.target, e.target, `${name}: symlink target`);
      }
    }
    assert.deepEqual(
      [...rows.keys()].map((k) => k.replace('\0', '/')),
      [],
      'rows the device does not have',
    );
  } finally {
    backup.close();
  }
  const blobs = await blobFiles(dir);
  assert.equal(blobs.size, files, 'blob files on disk besides the files of Manifest.db');
  return files;
}

/** Reads the blob of (domain, relativePath) from a backup folder, or undefined when absent. */
export async function blobOf(dir: string, fileId: string): Promise<Uint8Array | undefined> {
  const path = join(dir, fileId.slice(0, 2), fileId);
  return existsSync(path) ? new Uint8Array(await readFile(path)) : undefined;
}

export interface StoppableRun {
  /** Sends SIGTERM (like Ctrl-C); `timeout -k 2` kills the tool 2 s later if it still runs. */
  stop(): void;
  result: Promise<ToolResult>;
}

/** Runs a tool against the emulator under `timeout -k 2`, stoppable before its time limit. */
export function startTool(te: TestEmulator, cmd: string, args: readonly string[]): StoppableRun {
  let stop = (): void => undefined;
  const result = new Promise<ToolResult>((done) => {
    const child = execFile(
      'timeout',
      ['-k', '2', String(TOOL_TIMEOUT_SECONDS), cmd, ...args],
      { env: { ...process.env, ...te.env }, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        done({ stdout, stderr, code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1 }),
    );
    stop = () => {
      child.kill('SIGTERM');
    };
  });
  return { stop: () => stop(), result };
}
