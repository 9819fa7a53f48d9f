/**
 * What the device is told when the backup store fails: errno errors by their name's DeviceLink
 * code, a path the store refused as GENERIC with the store's own words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupStore, UnsafePathError } from '../../../src/backup/store.js';
import { IbackupError } from '../../../src/errors.js';
import { DL_STATUS } from '../../../src/protocol/devicelink-status.js';
import { targetFailure } from '../../../src/host/services/target-failure.js';

const UDID = '00008120-0006C92647DFB9BF';

const errno = (code: string, message = `${code}: failed`): NodeJS.ErrnoException =>
  Object.assign(new Error(message), { code });

test('errno errors get their codes and the host’s words, or their own message', () => {
  assert.deepEqual(targetFailure(errno('ENOENT')), { code: -6, text: 'No such file or directory' });
  assert.deepEqual(targetFailure(errno('EEXIST')), { code: -7, text: 'File exists' });
  assert.deepEqual(targetFailure(errno('ENOTDIR')), { code: -8, text: 'Not a directory' });
  assert.deepEqual(targetFailure(errno('EISDIR')), { code: -9, text: 'Is a directory' });
  assert.deepEqual(targetFailure(errno('ELOOP', 'too many links')), { code: -10, text: 'too many links' });
  assert.deepEqual(targetFailure(errno('EIO', 'i/o error')), { code: -11, text: 'i/o error' });
  assert.deepEqual(targetFailure(errno('ENOSPC')), { code: DL_STATUS.ENOSPC, text: 'No space left on device' });
  assert.deepEqual(targetFailure(errno('EDQUOT', 'quota')), { code: DL_STATUS.ENOSPC, text: 'quota' });
  assert.deepEqual(targetFailure(errno('EACCES', 'permission denied')), { code: -1, text: 'permission denied' });
});

test('the store’s own failures: an unsafe path, a missing file, any IbackupError', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ibackup-failure-'));
  try {
    const store = new BackupStore(root, UDID);
    for (const path of ['../etc/passwd', `${UDID}/../x`, 'OTHER/x', '/abs']) {
      const err = await store.mkdirp(path).then(
        () => assert.fail(`${path} accepted`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof UnsafePathError);
      assert.deepEqual(targetFailure(err), { code: DL_STATUS.GENERIC, text: err.message });
    }
    const missing = await store.openRead(`${UDID}/Status.plist`).then(
      () => assert.fail('a missing file opened'),
      (e: unknown) => e,
    );
    assert.deepEqual(targetFailure(missing), { code: DL_STATUS.ENOENT, text: 'No such file or directory' });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const full = new IbackupError('DISK_FULL', { message: 'The disk is full.' });
  assert.deepEqual(targetFailure(full), { code: DL_STATUS.GENERIC, text: 'The disk is full.' });
});

test('values that are not errors', () => {
  assert.deepEqual(targetFailure('gone'), { code: -1, text: 'gone' });
  assert.deepEqual(targetFailure(undefined), { code: -1, text: 'undefined' });
  assert.deepEqual(targetFailure(null), { code: -1, text: 'null' });
  assert.deepEqual(targetFailure({ code: 'ENOENT' }), { code: -6, text: 'No such file or directory' });
});
