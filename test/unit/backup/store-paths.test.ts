/**
 * The store's path checks: which top folders a device may name, the local path it gets, the
 * refusals (by protocol/'s device-path checks and by containment) and links on the way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFs, type FsLayer } from '../../../src/backup/fs-layer.js';
import { StorePaths, UnsafePathError } from '../../../src/backup/store-paths.js';
import { parseDevicePath } from '../../../src/protocol/device-path.js';
import fc from 'fast-check';

const UDID = '00008120-0006C92647DFB9BF';

test('the device folder, its renamed copy and _unback_ resolve under the root', () => {
  const paths = new StorePaths('/r', UDID, nodeFs);
  assert.equal(paths.resolve(`${UDID}/Snapshot/ab/1`), join('/r', UDID, 'Snapshot', 'ab', '1'));
  assert.equal(paths.resolve(`./${UDID}//ab/./1`), join('/r', UDID, 'ab', '1'));
  assert.equal(
    paths.resolve(`${UDID}-20240102-030405/Status.plist`),
    join('/r', `${UDID}-20240102-030405`, 'Status.plist'),
  );
  assert.equal(paths.resolve('_unback_/x'), join('/r', '_unback_', 'x'));
  assert.ok(paths.inDevice(paths.resolve(`${UDID}/x`)));
  assert.ok(!paths.inDevice(paths.resolve('_unback_/x')));
});

test('a plain path gets the same local path as its parts joined under the root, whatever the root (any path)', () => {
  const part = fc.constantFrom(
    UDID,
    `${UDID}-20240102-030405`,
    '_unback_',
    'Snapshot',
    'ab',
    '.x',
    'a..b',
    'x:y',
    '.',
    '..',
    '',
  );
  const path = fc.array(part, { minLength: 1, maxLength: 5 }).map((xs) => xs.join('/'));
  for (const root of ['/r', '/r/', '/', 'rel/dir', '/r/./x/..', '/r//s']) {
    const paths = new StorePaths(root, UDID, nodeFs);
    fc.assert(
      fc.property(path, (p) => {
        const parsed = parseDevicePath(p);
        const top = 'parts' in parsed ? parsed.parts[0] : undefined;
        const allowed = top === UDID || top === `${UDID}-20240102-030405` || top === '_unback_';
        if (!('parts' in parsed) || !allowed) {
          assert.throws(() => paths.resolve(p), UnsafePathError);
          return;
        }
        assert.equal(paths.resolve(p), join(root, ...parsed.parts), `${root} + ${p}`);
      }),
      { numRuns: 500 },
    );
  }
});

test('anything else is refused with the reason in the message', () => {
  const paths = new StorePaths('/r', UDID, nodeFs);
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    [`${UDID}/../x`, 'parent folder'],
    [`/${UDID}/x`, 'absolute'],
    [`${UDID}\\x`, 'backslash'],
    [`${UDID}/a\0`, 'NUL byte'],
    ['OTHER/x', 'outside the device folder'],
    [`${UDID}-2024/x`, 'outside the device folder'],
    [`${UDID.replace('0', '.')}/x`, 'outside the device folder'],
  ];
  for (const [path, why] of cases) {
    assert.throws(
      () => paths.resolve(path),
      (e: unknown) =>
        e instanceof UnsafePathError &&
        e.code === 'UNSAFE_PATH' &&
        e.message === `The device asked for an unsafe path (${why}): ${JSON.stringify(path)}.`,
      JSON.stringify(path),
    );
  }
});

test('a symbolic link on the way is refused; what is there is reported', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ibackup-paths-'));
  try {
    await mkdir(join(root, UDID, 'ab'), { recursive: true });
    await symlink(tmpdir(), join(root, UDID, 'link'));
    const paths = new StorePaths(root, UDID, nodeFs);
    const found = await paths.check(`${UDID}/ab`);
    assert.ok(found.stat?.isDirectory());
    assert.equal((await paths.check(`${UDID}/ab/new`)).stat, undefined);
    await assert.rejects(
      paths.check(`${UDID}/link/x`),
      (e: unknown) => e instanceof UnsafePathError && /passes through a symbolic link/.test(e.message),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('in a folder already checked only the last part is looked at, and a link there is still refused', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ibackup-paths-'));
  try {
    await mkdir(join(root, UDID, 'ab'), { recursive: true });
    await writeFile(join(root, UDID, 'ab', 'f1'), 'one');
    await writeFile(join(root, UDID, 'ab', 'f2'), 'two');
    await symlink(join(root, UDID, 'ab', 'f1'), join(root, UDID, 'ab', 'lnk'));
    const looked: string[] = [];
    const counting: FsLayer = {
      ...nodeFs,
      lstatIfExists: (p) => {
        looked.push(p);
        return nodeFs.lstatIfExists ? nodeFs.lstatIfExists(p) : nodeFs.lstat(p);
      },
    };
    const paths = new StorePaths(root, UDID, counting);
    assert.equal((await paths.check(`${UDID}/ab/f1`)).stat?.size, 3);
    assert.deepEqual(looked, [join(root, UDID), join(root, UDID, 'ab'), join(root, UDID, 'ab', 'f1')]);
    looked.length = 0;
    assert.equal((await paths.check(`${UDID}/ab/f2`)).stat?.size, 3);
    assert.equal((await paths.check(`${UDID}/ab/none`)).stat, undefined);
    assert.deepEqual(looked, [join(root, UDID, 'ab', 'f2'), join(root, UDID, 'ab', 'none')]);
    await assert.rejects(
      paths.check(`${UDID}/ab/lnk`),
      (e: unknown) => e instanceof UnsafePathError && /symbolic link/.test(e.message),
    );
    // Once forgotten (a folder moved or replaced), the whole way is looked at again.
    await rm(join(root, UDID, 'ab'), { recursive: true });
    await symlink(tmpdir(), join(root, UDID, 'ab'));
    paths.forget();
    await assert.rejects(
      paths.check(`${UDID}/ab/f2`),
      (e: unknown) => e instanceof UnsafePathError && /symbolic link/.test(e.message),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
