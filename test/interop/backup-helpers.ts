/**
 * Pieces shared by the idevicebackup2 tests: running idevicebackup2 (optionally from a chosen
 * working folder), its output without progress bars, and a file-by-file comparison of a virtual
 * iPhone's content with a backup read by the host's own reader.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { openBackup } from '../../src/backup/open.js';
import type { DeviceContent } from '../../src/emulator/content/index.js';
import { UNREADABLE_FROM_IOS_17 } from '../../src/emulator/services/mobilebackup2/unreadable.js';
import { TOOL_TIMEOUT_SECONDS, type TestEmulator, type ToolResult } from './helpers.js';

export const BACKUP_TOOLS = ['idevicebackup2', 'ideviceinfo', 'idevicepair', 'stdbuf'] as const;

/** A small device whose encrypted backups derive their key quickly (DPIC 1000). */
export const FAST_PROFILE = { extends: 'tiny' as const, behaviour: { keyDerivationIterations: 1000 } };

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

async function sha1Of(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha1');
  for await (const c of chunks) h.update(c);
  return h.digest('hex');
}

export interface CompareOptions {
  password?: string;
  /** Entries the backup cannot hold (encrypted-only ones for a plain backup) are skipped. */
  includeEncryptedOnly: boolean;
  /** Only these domains are compared (default all). */
  domain?: (d: string) => boolean;
}

/**
 * Differences between the device's content and a backup: entries missing on either side, kinds
 * that differ, link targets, and file bytes (every file of the backup is read, decrypted when
 * the backup is encrypted). Returns the number of files compared.
 */
export async function compareWithBackup(
  content: DeviceContent,
  backupDir: string,
  o: CompareOptions,
): Promise<{ differences: string[]; files: number }> {
  const backup = await openBackup(backupDir, o.password === undefined ? {} : { password: o.password });
  const differences: string[] = [];
  let files = 0;
  try {
    const inScope = o.domain ?? (() => true);
    const partial = new Set(UNREADABLE_FROM_IOS_17.map((u) => `${u.domain} ${u.relativePath}`));
    const seen = new Set<string>();
    for (const row of backup.db.iterate()) {
      if (!inScope(row.domain)) continue;
      const name = `${row.domain} ${row.relativePath}`;
      seen.add(`${row.domain}\0${row.relativePath}`);
      const e = content.get(row.domain, row.relativePath);
      if (!e) {
        differences.push(`only in the backup: ${name}`);
        continue;
      }
      if (e.kind !== row.kind) {
        differences.push(`${name}: ${e.kind} on the device, ${row.kind} in the backup`);
        continue;
      }
      if (e.kind === 'symlink' && e.target !== row.file?.target) differences.push(`${name}: link target differs`);
      if (e.kind !== 'file') continue;
      files++;
      if (partial.has(name)) {
        // The phone could not read it to its end (iOS 17+): the backup holds the first part.
        const sent = Buffer.from(await backup.readFile(row, { policy: 'size' }));
        if (sent.length > e.size || !sent.equals(Buffer.from(await content.read(e, 0, sent.length))))
          differences.push(`${name}: bytes differ`);
        continue;
      }
      const [onDevice, inBackup] = await Promise.all([sha1Of(content.openContent(e)), sha1Of(backup.fileChunks(row))]);
      if (onDevice !== inBackup) differences.push(`${name}: bytes differ`);
    }
    for (const e of content.entries()) {
      if (!inScope(e.domain) || (e.encryptedOnly && !o.includeEncryptedOnly)) continue;
      if (!seen.has(`${e.domain}\0${e.relativePath}`))
        differences.push(`only on the device: ${e.domain} ${e.relativePath}`);
    }
  } finally {
    backup.close();
  }
  return { differences, files };
}

/** The device's content now (the device may have been re-attached after a reboot). */
export function contentOf(te: TestEmulator, udid: string): DeviceContent {
  const runtime = te.emu.find(udid).runtime;
  assert.ok(runtime, 'the virtual device has content');
  return runtime.content;
}

/**
 * A backup another tool made keeps no record of the files the phone could not read to the end
 * (iOS 17+): verify finds those short. Asserts they, and only they, are its errors.
 */
export function assertOnlyPartialFiles(
  problems: ReadonlyArray<{ code: string; path?: string; severity: string }>,
): void {
  const partial = new Set(UNREADABLE_FROM_IOS_17.map((u) => `${u.domain}/${u.relativePath}`));
  const others = problems.filter(
    (p) =>
      p.severity === 'error' &&
      !(p.path !== undefined && partial.has(p.path) && ['BLOB_SIZE', 'DECRYPT_FAILED'].includes(p.code)),
  );
  assert.deepEqual(others, []);
}
