/**
 * The file-system helpers of a backup run (src/backup/fs-layer.ts): what is left after a short
 * write, and files created off the main thread then finished at once (temporary name, rename,
 * cleanup on failure); uploads staged under their final names, marked unfinished until complete.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { isUnfinished, MARKS_UNFINISHED_FILES, nodeFs, unwritten } from '../../../src/backup/fs-layer.js';
import { removeStaleTemps } from '../../../src/backup/stale-temps.js';
import { listFolder } from '../../../src/backup/store-listing.js';
import { tempRoot } from '../../support/backup-fixtures.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (parts: Uint8Array[]): string[] => parts.map((p) => new TextDecoder().decode(p));

test('after a short write, exactly the bytes not yet written remain, in order', () => {
  const parts = [b('abc'), b('de'), b('fghi')];
  assert.deepEqual(text(unwritten(parts, 0)), ['abc', 'de', 'fghi']);
  assert.deepEqual(text(unwritten(parts, 2)), ['c', 'de', 'fghi']);
  assert.deepEqual(text(unwritten(parts, 3)), ['de', 'fghi']);
  assert.deepEqual(text(unwritten(parts, 4)), ['e', 'fghi']);
  assert.deepEqual(text(unwritten(parts, 8)), ['i']);
  assert.deepEqual(unwritten(parts, 9), []);
  assert.equal(unwritten(parts, 0)[0], parts[0], 'untouched parts are not copied');
});

test('a file is created off the main thread, then written whole, closed and renamed; on failure nothing is left', async () => {
  const t = tempRoot();
  try {
    const dir = path.join(t.root, 'd');
    mkdirSync(dir);
    const fd = await nodeFs.createFile(path.join(dir, 'f.tmp-1'));
    nodeFs.finishSmallFile(
      fd,
      path.join(dir, 'f.tmp-1'),
      [b('hello '), new Uint8Array(0), b('world')],
      path.join(dir, 'f'),
    );
    assert.equal(readFileSync(path.join(dir, 'f'), 'utf8'), 'hello world');
    assert.deepEqual(readdirSync(dir), ['f']);
    // The temporary name is never followed through a link.
    symlinkSync(path.join(t.root, 'elsewhere'), path.join(dir, 'g.tmp-1'));
    await assert.rejects(nodeFs.createFile(path.join(dir, 'g.tmp-1')), /ELOOP/);
    assert.equal(existsSync(path.join(t.root, 'elsewhere')), false);
    // A failed rename (the destination is a folder that is not empty) leaves no temporary file.
    mkdirSync(path.join(dir, 'h', 'inner'), { recursive: true });
    const fd2 = await nodeFs.createFile(path.join(dir, 'h.tmp-1'));
    assert.throws(() => nodeFs.finishSmallFile(fd2, path.join(dir, 'h.tmp-1'), [b('x')], path.join(dir, 'h')));
    assert.equal(existsSync(path.join(dir, 'h.tmp-1')), false);
  } finally {
    t.cleanup();
  }
});

test('an upload under its final name is unreadable until marked finished; what had the name keeps its bytes under its other names', async () => {
  if (!MARKS_UNFINISHED_FILES) return;
  const t = tempRoot();
  try {
    const dir = path.join(t.root, 'Snapshot', 'ab');
    mkdirSync(dir, { recursive: true });
    // A name whose inode a kept version shares: replacing the name must not touch those bytes.
    const kept = path.join(t.root, 'kept');
    writeFileSync(kept, 'the kept version');
    linkSync(kept, path.join(dir, 'blob'));
    const fd = await nodeFs.createFile(path.join(dir, 'blob'), true);
    assert.equal(isUnfinished(statSync(path.join(dir, 'blob'))), true, 'unfinished while written');
    assert.equal(readFileSync(kept, 'utf8'), 'the kept version');
    nodeFs.finishSmallFile(fd, path.join(dir, 'blob'), [b('new '), b('bytes')], path.join(dir, 'blob'));
    const st = statSync(path.join(dir, 'blob'));
    assert.equal(isUnfinished(st), false);
    assert.equal(st.mode & 0o777, 0o644 & ~process.umask(), 'the mode a file created with 0644 gets');
    assert.equal(readFileSync(path.join(dir, 'blob'), 'utf8'), 'new bytes');
    assert.equal(readFileSync(kept, 'utf8'), 'the kept version');
    assert.deepEqual(readdirSync(dir), ['blob'], 'no temporary name');
    // A large file: marked finished by the writer before it closes the file.
    const fd2 = await nodeFs.createFile(path.join(dir, 'big'), true);
    nodeFs.markFinished(fd2);
    closeSync(fd2);
    assert.equal(isUnfinished(statSync(path.join(dir, 'big'))), false);
    // Never through a link at the final name.
    symlinkSync(path.join(t.root, 'elsewhere'), path.join(dir, 'link'));
    closeSync(await nodeFs.createFile(path.join(dir, 'link'), true));
    assert.equal(lstatSync(path.join(dir, 'link')).isFile(), true, 'the link lost its name to a new file');
    assert.equal(existsSync(path.join(t.root, 'elsewhere')), false);
  } finally {
    t.cleanup();
  }
});

test('the next run removes uploads a killed run left unfinished in Snapshot/, and only those', async () => {
  if (!MARKS_UNFINISHED_FILES) return;
  const t = tempRoot();
  try {
    const dev = path.join(t.root, 'UDID');
    mkdirSync(path.join(dev, 'Snapshot', 'ab'), { recursive: true });
    mkdirSync(path.join(dev, 'ab'), { recursive: true });
    const partial = path.join(dev, 'Snapshot', 'ab', 'partial');
    writeFileSync(partial, 'half', { mode: 0o200 });
    writeFileSync(path.join(dev, 'Snapshot', 'ab', 'whole'), 'whole');
    // Outside the staging folder a file's mode is none of the run's business.
    writeFileSync(path.join(dev, 'ab', 'odd-mode'), 'x', { mode: 0o200 });
    assert.deepEqual(
      (await listFolder(nodeFs, path.join(dev, 'Snapshot', 'ab'))).map((e) => e.name),
      ['whole'],
      'the device is never shown an unfinished upload',
    );
    assert.equal(await removeStaleTemps(nodeFs, dev), 1);
    assert.equal(existsSync(partial), false);
    assert.ok(existsSync(path.join(dev, 'Snapshot', 'ab', 'whole')));
    assert.ok(existsSync(path.join(dev, 'ab', 'odd-mode')));
  } finally {
    t.cleanup();
  }
});
