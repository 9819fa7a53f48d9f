/**
 * A backup compared with the virtual iPhone it came from: read back with ibackup's independent
 * reader, it must hold exactly the device's content (rows, kinds, link targets, every file's bytes).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openBackup } from '../../src/backup/open.js';
import { readStatusPlist } from '../../src/backup/status.js';
import { verifyBackup } from '../../src/backup/verify.js';
import type { DeviceContent } from '../../src/emulator/content/index.js';
import type { VirtualDevice } from '../../src/emulator/device.js';
import type { DeviceRuntime } from '../../src/emulator/device-services.js';
import { UNREADABLE_FROM_IOS_17 } from '../../src/emulator/services/mobilebackup2/unreadable.js';
import { blobFiles } from './backup-checks.js';
import type { TestEmulator } from './test-emulator.js';

export function runtimeOf(device: VirtualDevice): DeviceRuntime {
  const rt = device.runtime;
  assert.ok(rt, 'the virtual device has no runtime');
  return rt;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

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

/** The device's content now (the device may have been re-attached after a reboot). */
export function contentOf(te: TestEmulator, udid: string): DeviceContent {
  const runtime = te.emu.find(udid).runtime;
  assert.ok(runtime, 'the virtual device has content');
  return runtime.content;
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
