/**
 * The size of a device's backup folder, followed change by change: the saved figure is used only
 * while the folder's Status.plist and Manifest.db are the files it was measured with, and is
 * dropped at a run's first change (`list` shows it under the same rule); through any sequence of the store's changes (files written
 * twice in a new folder, files and folders moved in, out and over each other, removed) the
 * figure stays what a walk of the folder finds. The name filter says "maybe" for every name
 * added and rarely for others.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../support/random.js';
import { folderSize } from '../../../src/backup/folder-size.js';
import { summarizeBackup } from '../../../src/backup/list.js';
import { NameFilter, SizeLedger } from '../../../src/backup/size-ledger.js';
import { BackupStore } from '../../../src/backup/store.js';

const UDID = '00008120-0006C92647DFB9BF';
const ARCHIVE = `${UDID}-20260101-120000`;
/** The bytes of the four top-level files `withRoot` makes. */
const BASE = 'status'.length + 'manifest-db'.length + 2 + 2;

async function withRoot(body: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'ibackup-sizes-'));
  try {
    await mkdir(join(root, UDID), { recursive: true });
    await writeFile(join(root, UDID, 'Status.plist'), 'status');
    await writeFile(join(root, UDID, 'Manifest.db'), 'manifest-db');
    await writeFile(join(root, UDID, 'Manifest.plist'), 'mp');
    await writeFile(join(root, UDID, 'Info.plist'), 'ip');
    await body(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function write(store: BackupStore, path: string, bytes: number): Promise<void> {
  const f = await store.createFile(path);
  await f.write(new Uint8Array(bytes).fill(7));
  await f.commit();
}

describe('size ledger', () => {
  test('the saved figure is used only while the witnesses are unchanged, and dropped at the first change', async () => {
    await withRoot(async (root) => {
      const first = await SizeLedger.open(root, UDID);
      assert.equal(first.known, false, 'nothing saved yet');
      assert.equal(await first.finish(), BASE);
      const record = join(root, '.ibackup', 'sizes', `${UDID}.json`);
      assert.ok(existsSync(record));

      const again = await SizeLedger.open(root, UDID);
      assert.equal(again.known, true);
      again.change(100);
      assert.equal(await again.finish(), BASE + 100, 'followed, not measured');
      assert.equal((await summarizeBackup(join(root, UDID))).sizeBytes, BASE + 100, 'list shows the saved figure');

      // A password change rewrote Manifest.plist (same size): the figure is not trusted any more.
      await writeFile(join(root, UDID, 'Manifest.plist'), 'MP');
      assert.equal((await SizeLedger.open(root, UDID)).known, false);
      assert.equal(await (await SizeLedger.open(root, UDID)).finish(), BASE);

      // Another tool rewrote Status.plist: the figure is not the folder's any more.
      await writeFile(join(root, UDID, 'Status.plist'), 'status, rewritten');
      const stale = await SizeLedger.open(root, UDID);
      assert.equal(stale.known, false);
      assert.equal((await summarizeBackup(join(root, UDID))).sizeBytes, BASE + ', rewritten'.length, 'list measures');
      assert.equal(await stale.finish(), BASE + ', rewritten'.length);

      // A run's first change removes the figure: a run that dies after it leaves none.
      const run = await SizeLedger.open(root, UDID);
      assert.equal(run.known, true);
      await run.beforeChange();
      assert.equal(existsSync(record), false);
      assert.equal((await SizeLedger.open(root, UDID)).known, false);

      // A damaged record is ignored.
      await mkdir(join(root, '.ibackup', 'sizes'), { recursive: true });
      await writeFile(record, '{"size": -5, "witnesses": []}');
      assert.equal((await SizeLedger.open(root, UDID)).known, false);
      await writeFile(record, 'not json');
      assert.equal((await SizeLedger.open(root, UDID)).known, false);
    });
  });

  test('through random changes by the store, the figure stays what a walk finds', async () => {
    const seed = Number(process.env.IBACKUP_SEED ?? Math.floor(Math.random() * 2 ** 31));
    await withRoot(async (root) => {
      await mkdir(join(root, UDID, 'ab'));
      await writeFile(join(root, UDID, 'ab', 'old1'), new Uint8Array(300));
      await writeFile(join(root, UDID, 'ab', 'old2'), new Uint8Array(50));
      await (await SizeLedger.open(root, UDID)).finish();
      const ledger = await SizeLedger.open(root, UDID);
      assert.equal(ledger.known, true);
      const store = new BackupStore(root, UDID, { sizes: ledger, beforeChange: () => ledger.beforeChange() });
      const rnd = seededRandom(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
      const dirs = [
        `${UDID}/ab`,
        `${UDID}/Snapshot/ab`,
        `${UDID}/Snapshot/cd`,
        `${UDID}/cd`,
        `_unback_/x`,
        `${ARCHIVE}/ab`,
      ];
      const names = ['f1', 'f2', 'f3', 'old1', 'old2'];
      const ops: string[] = [];
      for (let i = 0; i < 120; i++) {
        const r = rnd();
        const a = `${pick(dirs)}/${pick(names)}`;
        const b = `${pick(dirs)}/${pick(names)}`;
        try {
          if (r < 0.15) {
            const d = pick(dirs);
            ops.push(`mkdir ${d}`);
            await store.mkdirp(d);
          } else if (r < 0.5) {
            ops.push(`write ${a}`);
            await store.mkdirp(a.slice(0, a.lastIndexOf('/')));
            await write(store, a, Math.floor(rnd() * 2000));
          } else if (r < 0.7) {
            ops.push(`move ${a} ${b}`);
            await store.mkdirp(b.slice(0, b.lastIndexOf('/')));
            await store.move(a, b);
          } else if (r < 0.8) {
            const from = pick(dirs);
            const to = pick(dirs);
            ops.push(`move folder ${from} ${to}`);
            if (to.startsWith(from)) continue;
            await store.move(from, to);
          } else if (r < 0.95) {
            ops.push(`remove ${a}`);
            await store.remove(a);
          } else {
            const d = pick(dirs);
            ops.push(`remove folder ${d}`);
            await store.remove(d);
          }
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          assert.ok(
            code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EINVAL',
            `seed ${seed}: ${String(err)}`,
          );
        }
        if (ledger.known) {
          const walked = await folderSize(join(root, UDID));
          assert.equal(
            await ledger.finish(),
            walked,
            `seed ${seed} (replay with IBACKUP_SEED=${seed}), after: ${ops.slice(-6).join('; ')}`,
          );
        }
      }
      assert.ok(ledger.known, `seed ${seed}: no change here needs a measurement`);
      assert.ok(existsSync(join(root, '.ibackup', 'sizes', `${UDID}.json`)));
      assert.ok((await readFile(join(root, '.ibackup', 'sizes', `${UDID}.json`), 'utf8')).includes('Status.plist'));
    });
  });

  test('a file written twice in a folder the run created, or moved there and replaced, counts once', async () => {
    await withRoot(async (root) => {
      await (await SizeLedger.open(root, UDID)).finish();
      const ledger = await SizeLedger.open(root, UDID);
      const store = new BackupStore(root, UDID, { sizes: ledger, beforeChange: () => ledger.beforeChange() });
      await store.mkdirp(`${UDID}/Snapshot/ab`);
      await write(store, `${UDID}/Snapshot/ab/one`, 1000);
      await write(store, `${UDID}/Snapshot/ab/one`, 400);
      await write(store, `${UDID}/Snapshot/ab/two`, 10);
      await store.mkdirp(`${UDID}/Snapshot/cd`);
      await store.move(`${UDID}/Snapshot/ab/two`, `${UDID}/Snapshot/cd/two`);
      await write(store, `${UDID}/Snapshot/cd/two`, 20);
      assert.equal(ledger.known, true);
      assert.equal(await ledger.finish(), await folderSize(join(root, UDID)));
      assert.equal(await ledger.finish(), BASE + 400 + 20);
    });
  });

  test('a first backup, where there is no folder yet, is followed from nothing', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ibackup-sizes-'));
    try {
      const ledger = await SizeLedger.open(root, UDID);
      assert.equal(ledger.known, true, 'no folder: its size is 0');
      const store = new BackupStore(root, UDID, { sizes: ledger, beforeChange: () => ledger.beforeChange() });
      await store.mkdirp(`${UDID}/Snapshot/ab`);
      await write(store, `${UDID}/Snapshot/ab/one`, 1000);
      await write(store, `${UDID}/Snapshot/Status.plist`, 30);
      await store.mkdirp(`${UDID}/ab`);
      await store.move(`${UDID}/Snapshot/ab/one`, `${UDID}/ab/one`);
      await store.move(`${UDID}/Snapshot/Status.plist`, `${UDID}/Status.plist`);
      await store.remove(`${UDID}/Snapshot`);
      assert.equal(ledger.known, true);
      assert.equal(await ledger.finish(), 1030);
      assert.equal(await folderSize(join(root, UDID)), 1030);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('name filter: every name added is a maybe; others rarely', () => {
    const f = new NameFilter(16);
    for (let i = 0; i < 1000; i++) f.add(`/root/UDID/Snapshot/${i % 256}/name-${i}`);
    for (let i = 0; i < 1000; i++) assert.ok(f.mayHave(`/root/UDID/Snapshot/${i % 256}/name-${i}`));
    let maybes = 0;
    for (let i = 0; i < 10_000; i++) if (f.mayHave(`/root/UDID/Snapshot/${i % 256}/other-${i}`)) maybes++;
    assert.ok(maybes < 50, `${maybes} false maybes in 10 000`);
  });
});
