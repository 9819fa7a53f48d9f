/**
 * The file-system helpers of a backup run (src/backup/fs-layer.ts): what is left after a short
 * write, and files created off the main thread then finished at once (temporary name, rename,
 * cleanup on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { nodeFs, unwritten } from '../../../src/backup/fs-layer.js';
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
