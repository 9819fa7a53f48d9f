/**
 * Checks of a backup folder on its own: read back through the independent reader (every
 * Manifest.db row and every file's bytes), the marks of a finished backup, the Info.plist keys the
 * virtual iPhone can supply, and the blob files on disk.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openBackup } from '../../src/backup/open.js';
import { readStatusPlist } from '../../src/backup/status.js';
import { verifyBackup } from '../../src/backup/verify.js';
import { UNREADABLE_FROM_IOS_17 } from '../../src/emulator/services/mobilebackup2/unreadable.js';
import { isPlistDict, parsePlist, type PlistDict } from '../../src/protocol/plist/index.js';
import type { Bench } from './bench.js';

/** Files the virtual iPhone cannot read to the end on iOS 17+, `<domain>/<relativePath>`. */
const PARTIAL = new Set(UNREADABLE_FROM_IOS_17.map((u) => `${u.domain}/${u.relativePath}`));
const PARTIAL_CODES = new Set(['UNREADABLE_ON_DEVICE', 'BLOB_SIZE', 'DECRYPT_FAILED']);

/** One Manifest.db row as both clients must record it, with the SHA-256 of a file's contents. */
export interface RowFacts {
  flags: number;
  size: number;
  mode: number | undefined;
  mtime: number | undefined;
  target: string | undefined;
  sha256: string | undefined;
}

/** Every row of a backup, keyed `<domain>/<relativePath>`, with each file's contents hashed. */
export async function backupContents(dir: string, password?: string): Promise<Map<string, RowFacts>> {
  const backup = await openBackup(dir, password === undefined ? {} : { password });
  const out = new Map<string, RowFacts>();
  try {
    const rows = [...backup.db.iterate()];
    for (const row of rows) {
      const key = `${row.domain}/${row.relativePath}`;
      assert.equal(out.has(key), false, `duplicate row ${key}`);
      assert.equal(row.fileError, undefined, `${key}: ${row.fileError ?? ''}`);
      // A file the phone could not read to its end (iOS 17+) holds whole blocks without padding.
      const opts = PARTIAL.has(key) ? { policy: 'size' as const } : {};
      const sha256 =
        row.flags === 1
          ? createHash('sha256')
              .update(await backup.readFile(row, opts))
              .digest('hex')
          : undefined;
      out.set(key, {
        flags: row.flags,
        size: Number(row.file?.size ?? 0),
        mode: row.file?.mode,
        mtime: row.file?.lastModified,
        target: row.file?.target,
        sha256,
      });
    }
  } finally {
    backup.close();
  }
  return out;
}

/** Both backups hold the same rows and byte-identical files; returns the row count. */
export async function assertSameBackups(a: string, b: string, password?: string): Promise<number> {
  const [ra, rb] = await Promise.all([backupContents(a, password), backupContents(b, password)]);
  const onlyA = [...ra.keys()].filter((k) => !rb.has(k));
  const onlyB = [...rb.keys()].filter((k) => !ra.has(k));
  assert.deepEqual({ onlyA, onlyB }, { onlyA: [], onlyB: [] }, `rows differ between ${a} and ${b}`);
  for (const [key, facts] of ra) assert.deepEqual(rb.get(key), facts, `row ${key}`);
  assert.ok(ra.size > 50, `only ${ra.size} rows`);
  return ra.size;
}

/** Status finished, no Snapshot/ left, verify clean; returns Status.plist's IsFullBackup. */
export async function assertFinished(dir: string, password?: string): Promise<boolean | undefined> {
  const status = await readStatusPlist(dir);
  assert.equal(status.snapshotState, 'finished', `${dir}: Status.plist SnapshotState`);
  assert.equal(existsSync(join(dir, 'Snapshot')), false, `${dir}: Snapshot/ left over`);
  const check = await verifyBackup(dir, password === undefined ? {} : { password });
  // What verify says of a file the phone could not read to its end (iOS 17+) is not a problem here.
  const problems = check.problems.filter(
    (p) => !(p.path !== undefined && PARTIAL.has(p.path) && PARTIAL_CODES.has(p.code)),
  );
  assert.deepEqual(problems, [], `${dir}: verify problems`);
  return status.isFullBackup;
}

/**
 * The Info.plist keys of backup-format.md §2 that the virtual iPhone can supply (it has a SIM,
 * user apps with icons and iTunes files; no iBooks data, no second IMEI; `Sync Settings` is iOS 4).
 */
export const INFO_PLIST_KEYS = [
  'Applications',
  'Build Version',
  'Device Name',
  'Display Name',
  'GUID',
  'ICCID',
  'IMEI',
  'Installed Applications',
  'Last Backup Date',
  'MEID',
  'Phone Number',
  'Product Name',
  'Product Type',
  'Product Version',
  'Serial Number',
  'Target Identifier',
  'Target Type',
  'Unique Identifier',
  'iTunes Files',
  'iTunes Settings',
  'iTunes Version',
] as const;

export async function readInfo(dir: string): Promise<PlistDict> {
  const v = parsePlist(await readFile(join(dir, 'Info.plist')));
  assert.ok(isPlistDict(v), 'Info.plist is a dictionary');
  return v;
}

/** Every key the device can supply is there, with the device's values and an icon per app. */
export async function assertInfoComplete(dir: string, bench: Bench, udid: string): Promise<PlistDict> {
  const info = await readInfo(dir);
  const missing = INFO_PLIST_KEYS.filter((k) => !(k in info));
  assert.deepEqual(missing, [], 'Info.plist keys missing');
  const id = bench.te.emu.find(udid).profile.identity;
  assert.equal(info['Device Name'], bench.te.emu.find(udid).deviceName);
  assert.equal(info['Product Type'], id.productType);
  assert.equal(info['Product Version'], id.productVersion);
  assert.equal(info['Build Version'], id.buildVersion);
  assert.equal(info['Serial Number'], id.serialNumber);
  assert.equal(info.IMEI, id.imei);
  assert.equal(info.ICCID, id.iccid);
  assert.equal(info['Unique Identifier'], udid.toUpperCase());
  assert.equal(info['Target Type'], 'Device');
  assert.match(String(info.GUID), /^[0-9A-F]{32}$/);
  assert.ok(info['Last Backup Date'] instanceof Date);
  const apps = info.Applications;
  assert.ok(isPlistDict(apps) && Object.keys(apps).length > 0, 'Applications is empty');
  for (const [bundleId, app] of Object.entries(apps)) {
    assert.ok(isPlistDict(app), bundleId);
    for (const k of ['ApplicationSINF', 'iTunesMetadata', 'PlaceholderIcon']) {
      const v = app[k];
      assert.ok(v instanceof Uint8Array && v.length > 0, `${bundleId}: ${k} is empty or missing`);
    }
    const icon = app.PlaceholderIcon as Uint8Array;
    assert.deepEqual(
      [...icon.subarray(0, 8)],
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
      `${bundleId}: icon is not a PNG`,
    );
  }
  assert.deepEqual([...(info['Installed Applications'] as string[])].sort(), Object.keys(apps).sort());
  return info;
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

/** Reads the blob of (domain, relativePath) from a backup folder, or undefined when absent. */
export async function blobOf(dir: string, fileId: string): Promise<Uint8Array | undefined> {
  const path = join(dir, fileId.slice(0, 2), fileId);
  return existsSync(path) ? new Uint8Array(await readFile(path)) : undefined;
}
