/** The DeviceLink status table: the codes of protocol.md §8.4, and errno names mapped to them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DL_MULTI_STATUS_TEXT,
  DL_STATUS,
  DL_UNSUPPORTED_TEXT,
  dlStatusOfErrno,
} from '../../../src/protocol/devicelink-status.js';

test('the codes are the ones libimobiledevice and the device use', () => {
  assert.deepEqual(DL_STATUS, {
    OK: 0,
    GENERIC: -1,
    ENOENT: -6,
    EEXIST: -7,
    ENOTDIR: -8,
    EISDIR: -9,
    ELOOP: -10,
    EIO: -11,
    MULTI_STATUS: -13,
    ENOSPC: -15,
  });
  assert.equal(DL_MULTI_STATUS_TEXT, 'Multi status');
  assert.equal(DL_UNSUPPORTED_TEXT, 'Operation not supported');
});

test('errno names map to their codes, with the host’s own words where it has them', () => {
  const cases: Array<[string, number, string | undefined]> = [
    ['ENOENT', -6, 'No such file or directory'],
    ['EEXIST', -7, 'File exists'],
    ['ENOTDIR', -8, 'Not a directory'],
    ['EISDIR', -9, 'Is a directory'],
    ['ELOOP', -10, undefined],
    ['EIO', -11, undefined],
    ['ENOSPC', -15, 'No space left on device'],
    ['EDQUOT', -15, undefined],
  ];
  for (const [errno, code, text] of cases) {
    const s = dlStatusOfErrno(errno);
    assert.equal(s?.code, code, errno);
    assert.equal(s?.text, text, errno);
  }
});

test('a name without a code of its own has no status (the caller answers GENERIC)', () => {
  for (const errno of ['EACCES', 'EPERM', 'EROFS', '', 'constructor', 'toString', '__proto__', undefined]) {
    assert.equal(dlStatusOfErrno(errno), undefined, String(errno));
  }
});
