/**
 * The backup store's look for links at a new file's own name: skipped in a folder this run
 * created (only the store puts things there), kept everywhere else, and forgotten once a folder
 * is moved or removed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFs, type FsLayer } from '../../src/backup/fs-layer.js';
import { BackupStore } from '../../src/backup/store.js';
import { isIbackupError } from '../../src/errors.js';

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

describe('backup store: links at a new file\'s name', () => {
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
      await assert.rejects(write(store, `${UDID}/ab/abcd`, 'through the link'), (e) => isIbackupError(e) && e.code === 'UNSAFE_PATH');
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
      await assert.rejects(write(store, `${UDID}/new/l`, 'through the link'), (e) => isIbackupError(e) && e.code === 'UNSAFE_PATH');
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
