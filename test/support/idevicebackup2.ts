/**
 * idevicebackup2 against the virtual iPhone: runs (optionally from a chosen working folder) with
 * its output freed of progress bars, and what it reports of a backup.
 */
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import { TOOL_TIMEOUT_SECONDS, type ToolResult } from './interop-tools.js';
import type { TestEmulator } from './test-emulator.js';

export const BACKUP_TOOLS = ['idevicebackup2', 'ideviceinfo', 'idevicepair', 'stdbuf'] as const;

/**
 * Runs `idevicebackup2 -u UDID ARGS…` unbuffered under `timeout -k 2 20`, from `cwd` when given.
 * Never rejects; the output has its progress bars removed.
 */
export function backup2(
  te: TestEmulator,
  udid: string,
  args: readonly string[],
  cwd?: string,
): Promise<ToolResult & { ms: number }> {
  const started = Date.now();
  return new Promise((done) => {
    execFile(
      'timeout',
      ['-k', '2', String(TOOL_TIMEOUT_SECONDS), 'stdbuf', '-o0', 'idevicebackup2', '-u', udid, ...args],
      {
        env: { ...process.env, ...te.env },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        ...(cwd === undefined ? {} : { cwd }),
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        const lines = stdout
          .replace(/\r/g, '\n')
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.includes('%'));
        done({ stdout: lines.join('\n'), stderr, code, ms: Date.now() - started });
      },
    );
  });
}

/**
 * Files idevicebackup2 receives in every backup besides the blobs: Status.plist four times
 * (SnapshotState uploading, moving, removing, finished) and Snapshot/Manifest.plist and
 * Snapshot/Manifest.db once each. "Received N files" = changed files + this.
 */
export const FIXED_UPLOADS = 6;

/** N of idevicebackup2's "Received N files from device." (fails when absent). */
export function receivedFiles(stdout: string): number {
  const m = /Received (\d+) files from device\./.exec(stdout);
  assert.ok(m, `no "Received N files" line in: ${stdout.slice(-800)}`);
  return Number(m[1]);
}
