import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { exportDevicePhotos, type PhotoExportResult } from '../../src/app/photos-export.js';
import { selectDevice } from '../../src/app/select-device.js';
import type { DeviceContent, DeviceEntry } from '../../src/emulator/content/index.js';
import { generatedRecord } from '../../src/emulator/content/photo-library.js';
import { photosDbFiles, type PhotoAsset } from '../../src/emulator/content/photos-db.js';
import { monthFolder } from '../../src/export/photos-names.js';
import { INDEX_NAME } from '../../src/export/photos-index.js';
import { json, pairedDevice, startBench, type Bench } from '../support/bench.js';

/** Every file under `dir` (index included), as "/"-separated paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
  return out.sort();
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** What a first export must write: the phone's originals (and Live Photo videos) not hidden nor deleted. */
async function expectedFiles(content: DeviceContent): Promise<Map<string, { sha: string; mtime: number }>> {
  const out = new Map<string, { sha: string; mtime: number }>();
  for (const e of content.under('CameraRollDomain', 'Media/DCIM/')) {
    if (e.kind !== 'file') continue;
    const name = e.relativePath.split('/').pop() as string;
    const r = generatedRecord(Number(/IMG_(\d{4})/.exec(name)?.[1]), 0, 'off', false);
    if (r.hidden || r.trashed) continue;
    const bytes = await content.read(e, 0, e.size);
    out.set(`${monthFolder(e.birth * 1000)}/${name}`, { sha: sha(bytes), mtime: e.mtime });
  }
  return out;
}

function phone(b: Bench, udid: string): DeviceContent {
  const content = b.te.emu.find(udid).runtime?.content;
  assert.ok(content);
  return content;
}

async function checkFolder(out: string, want: Map<string, { sha: string; mtime: number }>): Promise<void> {
  const files = (await filesUnder(out)).filter((f) => f !== INDEX_NAME);
  assert.deepEqual(files, [...want.keys()].sort(), 'names and YYYY/MM folders');
  for (const [rel, w] of want) {
    const p = join(out, rel);
    assert.equal(sha(await readFile(p)), w.sha, `${rel} bytes`);
    assert.equal(Math.round((await stat(p)).mtimeMs / 1000), w.mtime, `${rel} date`);
  }
}

describe('photos export from the iPhone', () => {
  test('the phone’s names, bytes and dates; again: nothing; a new photo: only it; a cut connection: no partial file', async () => {
    const started = Date.now();
    const b = await startBench({ profile: { extends: 'tiny', content: { hugeFiles: [3 * 1024 * 1024] } } });
    const out = await mkdtemp(join(tmpdir(), 'ibackup-photos-out-'));
    try {
      const udid = b.te.udids[0] as string;
      let device = await pairedDevice(b, udid);
      const want = await expectedFiles(phone(b, udid));

      // A cut connection in the middle of the 3 MB video: no partial file, no index line for it.
      let filesDone = -1;
      let fileStart = 0;
      let cut = false;
      const interrupted = exportDevicePhotos(device, {
        out,
        progressIntervalMs: 0,
        onProgress: (p) => {
          if (p.filesDone !== filesDone) [filesDone, fileStart] = [p.filesDone, p.bytesDone];
          if (!cut && p.bytesDone - fileStart >= 1024 * 1024) {
            cut = true;
            b.te.emu.detach(udid);
          }
        },
      });
      await assert.rejects(interrupted);
      assert.ok(cut, 'the connection was cut during a file');
      const left = (await filesUnder(out)).filter((f) => f !== INDEX_NAME);
      assert.ok(!left.some((f) => f.endsWith('.partial')), `no partial file: ${left.join(', ')}`);
      for (const f of left) assert.equal(sha(await readFile(join(out, f))), want.get(f)?.sha, `${f} complete`);
      assert.ok(left.length < want.size);

      // The next run completes.
      await b.te.emu.attach({ udid });
      device = await selectDevice(b.ctx, udid);
      const first = await exportDevicePhotos(device, { out });
      assert.equal(first.copied, want.size - left.length);
      assert.equal(first.skipped, left.length);
      await checkFolder(out, want);

      // Again: nothing is copied.
      const again = await exportDevicePhotos(device, { out });
      assert.deepEqual({ copied: again.copied, skipped: again.skipped }, { copied: 0, skipped: want.size });

      // A photo taken on the phone is the only one copied next (through the CLI, --json shape).
      const taken = await b.te.emu.find(udid).runtime?.mutate('photos', 1);
      const added = taken?.added.find((r) => r.relativePath.startsWith('Media/DCIM/'));
      assert.ok(added);
      const e = phone(b, udid).get('CameraRollDomain', added.relativePath) as DeviceEntry;
      want.set(`${monthFolder(e.birth * 1000)}/${added.relativePath.split('/').pop() as string}`, {
        sha: sha(await phone(b, udid).read(e, 0, e.size)),
        mtime: e.mtime,
      });
      const r = await b.cli(['--json', 'photos', 'export', '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      const doc = json<PhotoExportResult>(r.stdout);
      assert.deepEqual(
        { copied: doc.copied, skipped: doc.skipped, notOnDevice: doc.notOnDevice, bytes: doc.bytes, out: doc.out },
        { copied: 1, skipped: want.size - 1, notOnDevice: 0, bytes: e.size, out },
      );
      await checkFolder(out, want);
    } finally {
      await rm(out, { recursive: true, force: true });
      await b.dispose();
      console.log(`# photos-export: ${Date.now() - started} ms`);
    }
  });
});

describe('hostile names from the phone', () => {
  test('a Photos.sqlite naming "..", "/", NUL and names Windows forbids: every file stays inside the folder', async () => {
    const started = Date.now();
    const b = await startBench();
    const parent = await mkdtemp(join(tmpdir(), 'ibackup-photos-hostile-'));
    const out = join(parent, 'out');
    try {
      const udid = b.te.udids[0] as string;
      const device = await pairedDevice(b, udid);
      const content = phone(b, udid);
      const hostile: [string, string][] = [
        ['DCIM/100APPLE', '../../../evil.JPG'],
        ['DCIM/100APPLE', 'x:y*?.JPG'],
        ['../../etc', 'passwd.JPG'],
        ['DCIM/100APPLE', '..'],
        ['DCIM/100APPLE', 'a\u0000b.JPG'],
        ['DCIM/100APPLE', 'CON.JPG'],
        ['/abs', 'IMG_0001.JPG'],
      ];
      const assets: PhotoAsset[] = hostile.map(([directory, filename], i) => ({
        record: { ...generatedRecord(1, 0, 'off', false), format: 'JPG', live: false, hidden: false, trashed: false },
        uuid: `../HOSTILE-${i}`,
        directory,
        filename,
        created: 1_717_000_000,
        modified: 1_717_000_000,
        width: 10,
        height: 10,
        size: 3,
      }));
      const db = photosDbFiles(assets, { seed: 1, icloud: 'off', iosMajor: 17 }, () => 'ALBUM');
      await content.writeFile('CameraRollDomain', 'Media/PhotoData/Photos.sqlite', db.db);
      await content.writeFile('CameraRollDomain', 'Media/PhotoData/Photos.sqlite-wal', db.wal);
      for (const name of ['x:y*?.JPG', 'CON.JPG'])
        await content.writeFile('CameraRollDomain', `Media/DCIM/100APPLE/${name}`, new Uint8Array([1, 2, 3]));
      const r = await exportDevicePhotos(device, { out });
      assert.equal(r.copied, 2);
      for (const e of await readdir(out, { recursive: true, withFileTypes: true })) {
        const full = join(e.parentPath, e.name);
        assert.ok(!relative(out, full).split(sep).includes('..'), full);
      }
      assert.deepEqual(await readdir(parent), ['out'], 'nothing written beside the folder');
      const month = monthFolder(1_717_000_000 * 1000);
      assert.deepEqual((await readdir(join(out, month))).sort(), ['_CON.JPG', 'x_y__.JPG']);
      assert.equal(r.notOnDevice, hostile.length - 2, 'the other names are never looked up or found');
    } finally {
      await rm(parent, { recursive: true, force: true });
      await b.dispose();
      console.log(`# photos-export hostile: ${Date.now() - started} ms`);
    }
  });
});
