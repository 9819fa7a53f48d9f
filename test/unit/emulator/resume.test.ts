/**
 * The virtual iPhone's resume of an interrupted backup: its record of what it staged (a state
 * file that survives a torn last line), the rule that keeps a staged blob only when that record
 * names this folder's run, the same version of the file, the same key and a blob of that size on
 * the host — and the fault `reuse-stale-snapshot` that keeps any blob of the right size. A file's
 * key stays while the file is unchanged and changes with it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceContent, type DeviceEntry } from '../../../src/emulator/content/index.js';
import { DeviceFaults, parseFault } from '../../../src/emulator/faults.js';
import { fileKeyOf } from '../../../src/emulator/services/mobilebackup2/encryption.js';
import type { DirectoryEntry, HostFiles } from '../../../src/emulator/services/mobilebackup2/host-files.js';
import { fileIdOf } from '../../../src/emulator/services/mobilebackup2/manifest-writer.js';
import {
  planResume,
  stagedNow,
  type PlannedUpload,
  type ResumeInput,
} from '../../../src/emulator/services/mobilebackup2/resume.js';
import {
  STAGED_RECORD_FILE,
  StagedRecordFile,
  encryptionKeyHash,
  parseStagedRecord,
  type StagedFile,
  type StagedRun,
} from '../../../src/emulator/services/mobilebackup2/staged-record.js';

const UDID = '00008120-001A2B3C4D5E802E';
const content = DeviceContent.build({ seed: 7, files: 60, bytes: 1 << 20, hugeFiles: [] });
const files = [...content.entries()].filter((e) => e.kind === 'file' && e.size > 0).slice(0, 4);

function upload(e: DeviceEntry, key?: Uint8Array): PlannedUpload {
  const size = key ? (Math.floor(e.size / 16) + 1) * 16 : e.size;
  return {
    entry: e,
    fileId: fileIdOf(e.domain, e.relativePath),
    size,
    ...(key ? { prepare: { encryptionKey: key } } : {}),
  };
}

/** A host whose Snapshot/ holds `blobs` (fileId → size). */
function hostHolding(blobs: Map<string, number>): HostFiles {
  const dir = (path: string): Map<string, DirectoryEntry> => {
    const out = new Map<string, DirectoryEntry>();
    const rel = path.slice(`${UDID}/Snapshot`.length);
    for (const [id, size] of blobs) {
      if (rel === '') out.set(id.slice(0, 2), { type: 'directory', size: 0 });
      else if (rel === `/${id.slice(0, 2)}`) out.set(id, { type: 'file', size });
    }
    return out;
  };
  return { contentsOfDirectory: async (path: string) => dir(path) } as unknown as HostFiles;
}

function input(uploads: PlannedUpload[], record: StagedRun | null, o: Partial<ResumeInput> = {}): ResumeInput {
  const held = new Map(uploads.map((u) => [u.fileId, u.size]));
  return {
    files: hostHolding(held),
    udid: UDID,
    uploads,
    hostRunUuid: 'RUN-1',
    record,
    bySizeOnly: false,
    unreadable: () => false,
    ...o,
  };
}

function recordOf(uploads: PlannedUpload[], runUuid = 'RUN-1'): StagedRun {
  return { runUuid, files: new Map(uploads.map((u) => [u.fileId, stagedNow(u)])) };
}

describe('resume of an interrupted backup', () => {
  test('a blob is kept only when the record names this run, the same file version and key, and the host holds its size', async () => {
    const key = randomBytes(40);
    const ups = files.map((e) => upload(e, key));
    const all = await planResume(input(ups, recordOf(ups)));
    assert.deepEqual([...all.keys()].sort(), ups.map((u) => u.fileId).sort(), 'all recorded and held: kept');

    assert.equal((await planResume(input(ups, recordOf(ups, 'OTHER-RUN')))).size, 0, "another folder's run");
    assert.equal((await planResume(input(ups, null))).size, 0, 'no record');
    assert.equal(
      (await planResume(input(ups, recordOf(ups), { hostRunUuid: undefined }))).size,
      0,
      'the host has no Status of that run',
    );

    const [first, ...rest] = ups as [PlannedUpload, ...PlannedUpload[]];
    const changed = {
      ...first,
      entry: { ...first.entry, version: first.entry.version + 1, mtime: first.entry.mtime + 3600 },
    };
    const r1 = await planResume(input([changed, ...rest], recordOf(ups)));
    assert.equal(r1.has(first.fileId), false, 'the file changed since (same size)');
    assert.equal(r1.size, rest.length);

    const rekeyed = { ...first, prepare: { encryptionKey: randomBytes(40) } };
    assert.equal((await planResume(input([rekeyed, ...rest], recordOf(ups)))).has(first.fileId), false, 'another key');

    const plain = upload(first.entry);
    const plainIn = input([plain], recordOf([plain]));
    assert.equal(
      (await planResume({ ...plainIn, record: recordOf([{ ...plain, prepare: { encryptionKey: key } }]) })).size,
      0,
      'staged encrypted, sent plain now',
    );

    const short = input(ups, recordOf(ups));
    short.files = hostHolding(new Map(ups.map((u, i) => [u.fileId, i === 0 ? u.size - 16 : u.size])));
    assert.equal((await planResume(short)).has(first.fileId), false, 'the host holds another size');

    assert.equal(
      (await planResume(input(ups, recordOf(ups), { unreadable: (e) => e === first.entry }))).has(first.fileId),
      false,
      'unreadable: sent again',
    );
  });

  test('the fault reuse-stale-snapshot keeps any blob of the expected size, record or not', async () => {
    const ups = files.map((e) => upload(e));
    const changed = ups.map((u) => ({ ...u, entry: { ...u.entry, version: u.entry.version + 1 } }));
    const r = await planResume(input(changed, null, { bySizeOnly: true }));
    assert.equal(r.size, ups.length);
    assert.ok(
      [...r.values()].every((v) => v === undefined),
      'kept without a record',
    );

    const faults = new DeviceFaults([parseFault('reuse-stale-snapshot')]);
    assert.equal(faults.take('reuse-stale-snapshot'), true);
    assert.equal(faults.take('reuse-stale-snapshot'), false, 'fires once');
    faults.set(parseFault('reuse-stale-snapshot', { repeat: '1' }));
    assert.equal(faults.take('reuse-stale-snapshot'), true);
    assert.equal(faults.take('reuse-stale-snapshot'), true, 'repeat=1 stays');
    assert.throws(() => parseFault('reuse-stale-snapshot', { bytes: 3 }), /takes no "bytes"/);
  });

  test('a file keeps its key while unchanged; a new version, time or inode gets a new key', () => {
    const ck = randomBytes(32);
    const e = files[0] as DeviceEntry;
    const key = Buffer.from(fileKeyOf(ck, e));
    assert.deepEqual(Buffer.from(fileKeyOf(ck, { ...e })), key, 'same file version, same key');
    for (const change of [
      { version: e.version + 1 },
      { mtime: e.mtime + 1 },
      { ctime: e.ctime + 1 },
      { size: e.size + 1 },
      { inode: e.inode + 1 },
    ]) {
      assert.notDeepEqual(Buffer.from(fileKeyOf(ck, { ...e, ...change })), key, JSON.stringify(change));
    }
    const rewritten = content.get(e.domain, e.relativePath);
    assert.ok(rewritten);
    const before = Buffer.from(fileKeyOf(ck, rewritten));
    const other = DeviceContent.build({ seed: 7, files: 60, bytes: 1 << 20, hugeFiles: [] });
    return other.writeFile(e.domain, e.relativePath, new Uint8Array(e.size)).then((w) => {
      assert.notDeepEqual(Buffer.from(fileKeyOf(ck, w)), before, 'a file written anew (a restore) gets a new key');
    });
  });
});

describe('the staged record in the state folder', () => {
  test("begin, add, load, clear; another run's additions are ignored; the key itself is never written", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ibackup-staged-'));
    try {
      const key = randomBytes(40);
      const ups = files.map((e) => upload(e, key));
      const rec = new StagedRecordFile(dir);
      assert.equal(await rec.load(), null);
      await rec.begin('RUN-1', [stagedNow(ups[0] as PlannedUpload)]);
      await rec.add(
        'RUN-1',
        ups.slice(1, 3).map((u) => ({ ...stagedNow(u), digest: 'ab'.repeat(20) })),
      );
      await rec.add('RUN-0', [stagedNow(ups[3] as PlannedUpload)]);
      const got = await rec.load();
      assert.equal(got?.runUuid, 'RUN-1');
      assert.deepEqual(
        [...(got?.files.keys() ?? [])].sort(),
        ups
          .slice(0, 3)
          .map((u) => u.fileId)
          .sort(),
      );
      assert.equal(got?.files.get((ups[1] as PlannedUpload).fileId)?.digest, 'ab'.repeat(20));
      const text = await readFile(join(dir, STAGED_RECORD_FILE), 'utf8');
      assert.ok(!text.includes(key.toString('hex')) && !text.includes(key.toString('base64')), 'no key in the record');
      assert.ok(text.includes(encryptionKeyHash(key) as string));
      assert.equal((await stat(join(dir, STAGED_RECORD_FILE))).mode & 0o777, 0o600);
      await rec.clear();
      assert.equal(await rec.load(), null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a line cut short by a crash, or damaged, is skipped; a bad header voids the record', async () => {
    const ups = files.map((e) => upload(e));
    const line = (f: StagedFile): string =>
      JSON.stringify([f.fileId, f.version, f.mtime, f.ctime, f.size, f.inode, f.blobSize, null, null]);
    const header = JSON.stringify({ format: 'ibackup-staged-record', version: 1, run: 'RUN-1' });
    const [a, b, c] = ups.map(stagedNow) as [StagedFile, StagedFile, StagedFile];
    const torn = `${header}\n${line(a)}\n{"garbage"\n${line(b)}\n${line(c).slice(0, 30)}`;
    const got = parseStagedRecord(torn);
    assert.deepEqual([...(got?.files.keys() ?? [])], [a.fileId, b.fileId]);
    assert.equal(parseStagedRecord(`${line(a)}\n`), null);
    assert.equal(parseStagedRecord(''), null);
    const dir = await mkdtemp(join(tmpdir(), 'ibackup-staged-'));
    try {
      await writeFile(join(dir, STAGED_RECORD_FILE), torn);
      assert.equal((await new StagedRecordFile(dir).load())?.files.size, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
