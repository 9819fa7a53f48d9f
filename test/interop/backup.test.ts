/**
 * libimobiledevice's idevicebackup2 against the virtual iPhone (tiny profile): full and
 * incremental backups, a backup into an empty folder, `info`, `list`, and a run cut by pulling the
 * cable mid-upload that the next run resumes. After every backup the folder is read back with
 * ibackup's independent reader and must hold exactly the device's content.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VirtualDevice } from '../../src/emulator/device.js';
import type { DeviceRuntime } from '../../src/emulator/device-services.js';
import { entryKey, type EntryRef } from '../../src/emulator/content/index.js';
import { expectedFileID } from '../../src/backup/manifest-rows.js';
import { parsePlist } from '../../src/protocol/plist/index.js';
import { FIXED_UPLOADS, receivedFiles } from '../support/idevicebackup2.js';
import { assertBackupEqualsDevice, runtimeOf } from '../support/backup-vs-device.js';
import { blobOf, blobTimes } from '../support/backup-checks.js';
import { startTool, missingTools, pairWithTool, requireTools, type ToolResult } from '../support/interop-tools.js';
import { startTestEmulator, type TestEmulator } from '../support/test-emulator.js';
import { waitFor } from '../support/wait.js';

const TOOLS = ['idevicebackup2', 'idevicepair'] as const;

interface MutateResult {
  summary: { added: EntryRef[]; modified: EntryRef[]; deleted: EntryRef[] };
}

describe('idevicebackup2 against the virtual iPhone', () => {
  let te: TestEmulator | undefined;
  let device: VirtualDevice;
  let rt: DeviceRuntime;
  let udid: string;
  /** Bytes the device uploaded in the first full backup. */
  let fullBytes = 0;

  const ready = (t: TestContext): TestEmulator | undefined => (requireTools(t, TOOLS) ? te : undefined);

  before(async () => {
    if (missingTools(TOOLS).length > 0) return;
    te = await startTestEmulator({ profile: 'tiny' });
    device = te.emu.devices()[0] as VirtualDevice;
    rt = runtimeOf(device);
    udid = device.udid;
    await pairWithTool(te, udid);
  });

  after(async () => {
    await te?.dispose();
  });

  async function backup(e: TestEmulator, root: string, ...extra: string[]): Promise<{ r: ToolResult; bytes: number }> {
    await mkdir(root, { recursive: true });
    const before = rt.faults.counters.bytes;
    const r = await e.tool('idevicebackup2', ['-u', udid, 'backup', ...extra, root]);
    assert.match(
      r.stdout,
      /Backup Successful\./,
      `idevicebackup2 backup: ${r.stdout.slice(-800)}${r.stderr.slice(-400)}`,
    );
    return { r, bytes: rt.faults.counters.bytes - before };
  }

  const rootOf = (e: TestEmulator, name: string): string => join(e.root, name);

  test('backup --full: every file of the device, read back byte for byte', async (t) => {
    const e = ready(t);
    if (!e) return;
    const root = rootOf(e, 'main');
    const { r, bytes } = await backup(e, root, '--full');
    fullBytes = bytes;
    const files = await assertBackupEqualsDevice(join(root, udid), rt);
    assert.equal(receivedFiles(r.stdout), files + FIXED_UPLOADS);
    assert.ok(bytes >= rt.content.totalSize({ encrypted: false }), 'every file byte was uploaded');
  });

  test('after modify 3, add 2, delete 1 an incremental backup sends only what changed', async (t) => {
    const e = ready(t);
    if (!e) return;
    const root = rootOf(e, 'main');
    const dir = join(root, udid);
    assert.ok(existsSync(join(dir, 'Manifest.db')), 'needs the full backup of the test before');
    const timesBefore = await blobTimes(dir);
    const changes: MutateResult[] = [];
    for (const [change, n] of [
      ['modify', 3],
      ['add', 2],
      ['delete', 1],
    ] as const) {
      changes.push((await e.emu.control({ Action: 'mutate', UDID: udid, Change: change, Count: n })) as MutateResult);
    }
    const deleted = new Map(
      changes.flatMap((c) => c.summary.deleted).map((x) => [entryKey(x.domain, x.relativePath), x]),
    );
    const changed = new Map(
      changes
        .flatMap((c) => [...c.summary.modified, ...c.summary.added])
        .filter((x) => !deleted.has(entryKey(x.domain, x.relativePath)))
        .map((x) => [expectedFileID(x.domain, x.relativePath), x]),
    );
    assert.ok(changed.size >= 5 && deleted.size === 1, `changes: ${JSON.stringify(changes.map((c) => c.summary))}`);

    const { r, bytes } = await backup(e, root);
    assert.match(r.stdout, /Incremental backup mode\./);
    assert.equal(receivedFiles(r.stdout), changed.size + FIXED_UPLOADS);
    await assertBackupEqualsDevice(dir, rt);

    // Exactly the changed files' blobs were written again; the others were left alone.
    const timesAfter = await blobTimes(dir);
    const rewritten = [...timesAfter].filter(([id, ms]) => timesBefore.get(id) !== ms).map(([id]) => id);
    assert.deepEqual(rewritten.sort(), [...changed.keys()].sort());
    // The uploaded bytes are the changed files, the two manifests and four small Status.plists.
    let changedBytes = 0;
    for (const x of changed.values()) changedBytes += rt.content.get(x.domain, x.relativePath)?.size ?? 0;
    const manifests =
      (await readFile(join(dir, 'Manifest.db'))).length + (await readFile(join(dir, 'Manifest.plist'))).length;
    const statusBytes = bytes - changedBytes - manifests;
    assert.ok(
      statusBytes > 4 * 100 && statusBytes < 4 * 300,
      `${statusBytes} bytes besides the changed files and manifests`,
    );
    assert.ok(bytes < fullBytes / 2, `incremental ${bytes} bytes vs full ${fullBytes}`);

    for (const x of deleted.values()) {
      assert.equal(
        await blobOf(dir, expectedFileID(x.domain, x.relativePath)),
        undefined,
        `blob of deleted ${x.relativePath} removed`,
      );
    }
  });

  test('a backup into an empty folder is full', async (t) => {
    const e = ready(t);
    if (!e) return;
    const root = rootOf(e, 'fresh');
    const { r, bytes } = await backup(e, root);
    fullBytes = bytes; // the content grew since the first backup
    assert.match(r.stdout, /Full backup mode\./);
    const files = await assertBackupEqualsDevice(join(root, udid), rt);
    assert.equal(receivedFiles(r.stdout), files + FIXED_UPLOADS);
  });

  test('info prints the Info.plist of the backup', async (t) => {
    const e = ready(t);
    if (!e) return;
    const root = rootOf(e, 'main');
    const r = await e.tool('idevicebackup2', ['-u', udid, 'info', root]);
    const start = r.stdout.indexOf('<?xml');
    const end = r.stdout.indexOf('</plist>');
    assert.ok(start >= 0 && end > start, `info output: ${r.stdout.slice(0, 400)}${r.stderr}`);
    const printed = parsePlist(new TextEncoder().encode(r.stdout.slice(start, end + '</plist>'.length)));
    const onDisk = parsePlist(new Uint8Array(await readFile(join(root, udid, 'Info.plist'))));
    assert.deepEqual(printed, onDisk);
  });

  test('list prints one CSV line per file of the backup', async (t) => {
    const e = ready(t);
    if (!e) return;
    const r = await e.tool('idevicebackup2', ['-u', udid, 'list', rootOf(e, 'main')]);
    const lines = r.stdout.split('\n').filter((l) => l.length > 0);
    assert.equal(lines[0], 'Domain,RelativePath,Size', r.stdout.slice(0, 400) + r.stderr);
    const field = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const expected = [...rt.content.entries({ encrypted: false })]
      .filter((x) => x.kind === 'file')
      .map((x) => `${field(x.domain)},${field(x.relativePath)},${x.size}`);
    assert.deepEqual(lines.slice(1).sort(), expected.sort());
  });

  test('a run cut by a pulled cable mid-upload is resumed by the next one', async (t) => {
    const e = ready(t);
    if (!e) return;
    const root = rootOf(e, 'cut');
    await mkdir(root, { recursive: true });
    const cutAt = Math.floor(fullBytes / 2);
    await e.emu.control({ Action: 'fault', UDID: udid, Fault: 'disconnect', Params: { bytes: String(cutAt) } });
    const fired = rt.faults.counters.fired;
    const before = rt.faults.counters.bytes;
    const run = startTool(e, 'idevicebackup2', ['-u', udid, 'backup', root]);
    // libimobiledevice 1.3 spins on a closed connection instead of failing: once the cable is
    // pulled, stop it as a user would.
    await waitFor(() => rt.faults.counters.fired > fired, 15_000, 'the disconnect fault');
    const cutBytes = rt.faults.counters.bytes - before;
    await new Promise((r) => setTimeout(r, 300));
    run.stop();
    const cut = await run.result;
    assert.doesNotMatch(cut.stdout, /Backup Successful/);
    assert.match(cut.stdout, /Backup Aborted|Backup Failed/, `cut run: ${cut.stdout.slice(-600)}`);
    assert.ok(cutBytes >= cutAt && cutBytes < fullBytes, `cut after ${cutBytes} bytes`);
    assert.ok(existsSync(join(root, udid, 'Snapshot')), 'the cut run left its Snapshot folder');
    assert.deepEqual(rt.faults.list(), [], 'the fault fired once');

    const { bytes } = await backup(e, root);
    assert.ok(bytes < fullBytes, `resumed run sent ${bytes} bytes, a full one ${fullBytes}`);
    assert.ok(bytes + cutBytes >= fullBytes, 'the two runs sent at least one full backup together');
    await assertBackupEqualsDevice(join(root, udid), rt);
  });
});
