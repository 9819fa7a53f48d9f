/**
 * The backup store's look for links at a new file's own name: skipped in a folder this run
 * created (only the store puts things there), kept everywhere else, and forgotten once a folder
 * is moved or removed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MARKS_UNFINISHED_FILES, nodeFs, type FsLayer } from '../../../src/backup/fs-layer.js';
import { BackupStore } from '../../../src/backup/store.js';
import { isIbackupError } from '../../../src/errors.js';

const UDID = '00008120-0006C92647DFB9BF';

/** The real file system, counting the look-ups of each path. */
function countingFs(): { fs: FsLayer; lookups: Map<string, number> } {
  const lookups = new Map<string, number>();
  const seen = (p: string): void => void lookups.set(p, (lookups.get(p) ?? 0) + 1);
  const fs: FsLayer = {
    ...nodeFs,
    lstat: (p) => (seen(p), nodeFs.lstat(p)),
    lstatIfExists: (p) => (seen(p), (nodeFs.lstatIfExists as NonNullable<FsLayer['lstatIfExists']>)(p)),
  };
  return { fs, lookups };
}

async function write(store: BackupStore, path: string, text: string): Promise<void> {
  const f = await store.createFile(path);
  await f.write(new TextEncoder().encode(text));
  await f.commit();
}

async function withRoot(body: (root: string, outside: string) => Promise<void>): Promise<void> {
  const top = await mkdtemp(join(tmpdir(), 'ibackup-store-'));
  try {
    const root = join(top, 'root');
    const outside = join(top, 'outside');
    await mkdir(join(root, UDID), { recursive: true });
    await mkdir(outside);
    await body(root, outside);
  } finally {
    await rm(top, { recursive: true, force: true });
  }
}

describe("backup store: links at a new file's name", () => {
  test('a new file in a folder this run created is written without looking its name up', async () => {
    await withRoot(async (root) => {
      const { fs, lookups } = countingFs();
      const store = new BackupStore(root, UDID, { fs });
      await store.mkdirp(`${UDID}/Snapshot/ab`);
      await write(store, `${UDID}/Snapshot/ab/abcd`, 'new');
      assert.equal(lookups.get(join(root, UDID, 'Snapshot', 'ab', 'abcd')), undefined);
      assert.equal(await readFile(join(root, UDID, 'Snapshot', 'ab', 'abcd'), 'utf8'), 'new');
    });
  });

  test('in a folder that was there before, a link at the name is refused and nothing is written through it', async () => {
    await withRoot(async (root, outside) => {
      await mkdir(join(root, UDID, 'ab'));
      await symlink(join(outside, 'target'), join(root, UDID, 'ab', 'abcd'));
      const { fs, lookups } = countingFs();
      const store = new BackupStore(root, UDID, { fs });
      await store.mkdirp(`${UDID}/ab`); // already there: not a folder of this run
      await assert.rejects(
        write(store, `${UDID}/ab/abcd`, 'through the link'),
        (e) => isIbackupError(e) && e.code === 'UNSAFE_PATH',
      );
      assert.ok((lookups.get(join(root, UDID, 'ab', 'abcd')) ?? 0) >= 1);
      assert.equal(await readlink(join(root, UDID, 'ab', 'abcd')), join(outside, 'target'));
      await assert.rejects(readFile(join(outside, 'target')), { code: 'ENOENT' });
    });
  });

  test('a folder of this run replaced by an older folder is looked at again', async () => {
    await withRoot(async (root, outside) => {
      await mkdir(join(root, UDID, 'old'));
      await writeFile(join(outside, 'target'), 'outside');
      await symlink(join(outside, 'target'), join(root, UDID, 'old', 'l'));
      const store = new BackupStore(root, UDID);
      await store.mkdirp(`${UDID}/new`);
      await write(store, `${UDID}/new/f`, 'fresh');
      await store.move(`${UDID}/old`, `${UDID}/new`);
      await assert.rejects(
        write(store, `${UDID}/new/l`, 'through the link'),
        (e) => isIbackupError(e) && e.code === 'UNSAFE_PATH',
      );
      assert.equal(await readFile(join(outside, 'target'), 'utf8'), 'outside');
    });
  });
});

describe('backup store: flushing while a run goes on', () => {
  test('a flush of the disk starts in the background every so many bytes, one at a time, and the final flush still runs', async () => {
    await withRoot(async (root) => {
      const calls: string[] = [];
      let release: (() => void) | undefined;
      const fs: FsLayer = {
        ...nodeFs,
        syncFileSystem: async () => {
          calls.push('start');
          await new Promise<void>((done) => (release = done));
          calls.push('end');
          return true;
        },
      };
      const store = new BackupStore(root, UDID, { fs, earlyFlushBytes: 1000 });
      await store.mkdirp(`${UDID}/Snapshot/ab`);
      await write(store, `${UDID}/Snapshot/ab/1`, 'x'.repeat(600));
      assert.deepEqual(calls, [], 'under the threshold: nothing yet');
      await write(store, `${UDID}/Snapshot/ab/2`, 'x'.repeat(600));
      assert.deepEqual(calls, ['start'], 'over it: one flush in the background');
      await write(store, `${UDID}/Snapshot/ab/3`, 'x'.repeat(2000));
      assert.deepEqual(calls, ['start'], 'never two at once');
      const final = store.flush();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(calls, ['start'], 'the final flush waits for the one running');
      release?.();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(calls, ['start', 'end', 'start'], 'then flushes everything itself');
      release?.();
      await final;
      assert.deepEqual(calls, ['start', 'end', 'start', 'end']);
    });
  });
});

/** syncfs answering from a list (true: flushed), with per-file fsyncs recorded relative to the root. */
function scriptedFs(root: string, answers: boolean[]): { fs: FsLayer; synced: string[]; calls: () => number } {
  const synced: string[] = [];
  let calls = 0;
  const fs: FsLayer = {
    ...nodeFs,
    syncFileSystem: async () => answers[calls++] ?? false,
    sync: async (p, dir) => void synced.push(`${dir ? 'dir' : 'file'} ${p.slice(root.length + 1)}`),
  };
  return { fs, synced, calls: () => calls };
}

describe('backup store: names kept for the final flush', () => {
  test('files flushed by an early flush that succeeded are forgotten: a failing final flush fsyncs only the later ones', async () => {
    await withRoot(async (root) => {
      const { fs, synced, calls } = scriptedFs(root, [true, false]);
      const store = new BackupStore(root, UDID, { fs, earlyFlushBytes: 1000 });
      await store.mkdirp(`${UDID}/ab`);
      await write(store, `${UDID}/ab/1`, 'x'.repeat(600));
      await write(store, `${UDID}/ab/2`, 'x'.repeat(600)); // starts the early flush, 1 and 2 in it
      await new Promise((r) => setImmediate(r));
      await write(store, `${UDID}/ab/3`, 'three');
      await store.flush();
      assert.equal(calls(), 2);
      assert.deepEqual(
        synced.filter((s) => s.startsWith('file ')),
        [`file ${UDID}/ab/3`],
      );
      assert.ok(synced.includes(`dir ${UDID}/ab`), synced.join('\n'));
    });
  });

  test('an early flush that failed keeps its names for the final flush, and none is tried again', async () => {
    await withRoot(async (root) => {
      const { fs, synced, calls } = scriptedFs(root, [false, false, false]);
      const store = new BackupStore(root, UDID, { fs, earlyFlushBytes: 1000 });
      await store.mkdirp(`${UDID}/ab`);
      for (let i = 1; i <= 6; i++) {
        await write(store, `${UDID}/ab/${i}`, 'x'.repeat(600));
        await new Promise((r) => setImmediate(r));
      }
      await store.move(`${UDID}/ab/1`, `${UDID}/ab/7`);
      await store.flush();
      assert.equal(calls(), 2, 'one early flush, then the final one');
      const files = synced.filter((s) => s.startsWith('file ')).map((s) => s.slice(s.lastIndexOf('/') + 1));
      for (const n of ['2', '3', '4', '5', '6', '7']) assert.ok(files.includes(n), `${n} fsynced: ${files.join(' ')}`);
    });
  });

  test('moving a file flushed already adds no name; one still pending, or in a flush that then fails, is kept under its new name', async () => {
    await withRoot(async (root) => {
      let release: ((ok: boolean) => void) | undefined;
      const answers = [true];
      const synced: string[] = [];
      const fs: FsLayer = {
        ...nodeFs,
        syncFileSystem: async () =>
          answers.length > 0 ? (answers.shift() as boolean) : new Promise<boolean>((done) => (release = done)),
        sync: async (p, dir) => void (dir || synced.push(p.slice(root.length + 1))),
      };
      const store = new BackupStore(root, UDID, { fs, earlyFlushFiles: 2 });
      await store.mkdirp(`${UDID}/Snapshot/ab`);
      await store.mkdirp(`${UDID}/ab`);
      await write(store, `${UDID}/Snapshot/ab/1`, 'one');
      await write(store, `${UDID}/Snapshot/ab/2`, 'two'); // early flush (succeeds): 1 and 2 forgotten
      await new Promise((r) => setImmediate(r));
      await write(store, `${UDID}/Snapshot/ab/3`, 'three');
      await write(store, `${UDID}/Snapshot/ab/4`, 'four'); // early flush held open with 3 and 4
      await write(store, `${UDID}/Snapshot/ab/5`, 'five'); // pending
      for (const n of ['1', '3', '5']) await store.move(`${UDID}/Snapshot/ab/${n}`, `${UDID}/ab/${n}`);
      release?.(false);
      const final = store.flush();
      await new Promise((r) => setImmediate(r));
      release?.(false);
      await final;
      assert.deepEqual(synced.sort(), [`${UDID}/Snapshot/ab/4`, `${UDID}/ab/3`, `${UDID}/ab/5`]);
    });
  });

  test('a folder moved carries the pending names of the files in it', async () => {
    await withRoot(async (root) => {
      const { fs, synced } = scriptedFs(root, []);
      const store = new BackupStore(root, UDID, { fs });
      await store.mkdirp(`${UDID}/Snapshot/ab`);
      await write(store, `${UDID}/Snapshot/ab/1`, 'one');
      await store.move(`${UDID}/Snapshot/ab`, `${UDID}/ab`);
      await store.flush();
      assert.deepEqual(
        synced.filter((s) => s.startsWith('file ')),
        [`file ${UDID}/ab/1`],
      );
    });
  });

  test('many small files start an early flush by their number alone', async () => {
    await withRoot(async (root) => {
      const { fs, calls } = scriptedFs(root, [true, true, true, true]);
      const store = new BackupStore(root, UDID, { fs, earlyFlushFiles: 3 });
      await store.mkdirp(`${UDID}/ab`);
      await write(store, `${UDID}/ab/1`, 'a');
      await write(store, `${UDID}/ab/2`, 'b');
      assert.equal(calls(), 0);
      await write(store, `${UDID}/ab/3`, 'c');
      assert.equal(calls(), 1);
      await store.flush();
      assert.equal(calls(), 2);
    });
  });
});

describe('backup store: what a flush without syncfs covers', () => {
  test('a moved file is flushed where it is now, its folders both, and its old name not at all', async () => {
    await withRoot(async (root) => {
      const synced: string[] = [];
      const fs: FsLayer = {
        ...nodeFs,
        syncFileSystem: async () => false,
        sync: async (p, dir) => void synced.push(`${dir ? 'dir' : 'file'} ${p.slice(root.length + 1)}`),
      };
      const store = new BackupStore(root, UDID, { fs });
      await store.mkdirp(`${UDID}/Snapshot/ab`);
      await store.mkdirp(`${UDID}/ab`);
      await write(store, `${UDID}/Snapshot/ab/1`, 'one');
      await write(store, `${UDID}/Snapshot/ab/2`, 'two');
      await store.move(`${UDID}/Snapshot/ab/1`, `${UDID}/ab/1`);
      await store.flush();
      const files = synced.filter((s) => s.startsWith('file ')).sort();
      assert.deepEqual(files, [`file ${UDID}/Snapshot/ab/2`, `file ${UDID}/ab/1`]);
      assert.ok(synced.includes(`dir ${UDID}/Snapshot/ab`) && synced.includes(`dir ${UDID}/ab`), synced.join('\n'));
      assert.equal(await readFile(join(root, UDID, 'ab', '1'), 'utf8'), 'one');
    });
  });
});

describe('uploads staged in Snapshot/', () => {
  test('are written under their final names where the disk shows the unfinished mark, else under temporary names', async () => {
    for (const marks of [true, false]) {
      await withRoot(async (root) => {
        const created: string[] = [];
        const fs: FsLayer = {
          ...nodeFs,
          createFile: (p, unfinished) => (created.push(p), nodeFs.createFile(p, unfinished)),
          marksUnfinished: async (dir) =>
            marks && (await (nodeFs.marksUnfinished as NonNullable<FsLayer['marksUnfinished']>)(dir)),
        };
        const store = new BackupStore(root, UDID, { fs });
        await store.mkdirp(`${UDID}/Snapshot/ab`);
        await write(store, `${UDID}/Snapshot/ab/abcd`, 'staged');
        await write(store, `${UDID}/Info.plist`, 'in place');
        const staged = join(root, UDID, 'Snapshot', 'ab', 'abcd');
        const expected = marks && MARKS_UNFINISHED_FILES ? staged : `${staged}.tmp-${process.pid}`;
        assert.deepEqual(created, [expected, `${join(root, UDID, 'Info.plist')}.tmp-${process.pid}`]);
        assert.equal(await readFile(staged, 'utf8'), 'staged');
        assert.deepEqual(
          await readdir(join(root, UDID, 'Snapshot', 'ab')),
          ['abcd'],
          'no probe or temporary file left',
        );
      });
    }
  });
});
