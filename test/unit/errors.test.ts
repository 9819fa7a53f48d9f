import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, IbackupError, decodeError, hasCode, isIbackupError, type ErrorCode } from '../../src/errors.js';

test('every error code has a message and a remedy, and IbackupError carries them', () => {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];
  assert.ok(codes.length >= 22);
  for (const code of codes) {
    const info = ERROR_CODES[code];
    assert.match(code, /^[A-Z][A-Z0-9_]+$/);
    assert.ok(info.message.length > 10, `${code} message`);
    assert.ok(info.remedy.length > 10, `${code} remedy`);
    const e = new IbackupError(code);
    assert.equal(e.code, code);
    assert.equal(e.message, info.message);
    assert.equal(e.remedy, info.remedy);
    assert.ok(isIbackupError(e));
    assert.ok(hasCode(e, code));
    assert.deepEqual(e.toJSON(), { code, message: info.message, remedy: info.remedy });
  }
});

test('the codes the architecture names exist', () => {
  for (const code of [
    'USAGE',
    'USBMUXD_UNREACHABLE',
    'NO_DEVICE',
    'DEVICE_NOT_FOUND',
    'MULTIPLE_DEVICES',
    'NOT_PAIRED',
    'TRUST_PENDING',
    'TRUST_DENIED',
    'DEVICE_LOCKED',
    'PASSCODE_REQUIRED',
    'TIMEOUT',
    'CANCELLED',
    'PROTOCOL_DECODE',
    'FRAME_TOO_LARGE',
    'UNSAFE_PATH',
    'DISK_FULL',
    'DEVICE_BACKUP_ERROR',
    'PASSWORD_REQUIRED',
    'WRONG_PASSWORD',
    'BACKUP_NOT_FOUND',
    'BACKUP_INCOMPLETE',
    'BACKUP_CORRUPT',
  ]) {
    assert.ok(code in ERROR_CODES, code);
  }
});

test('specific message, remedy, cause and details override the defaults', () => {
  const cause = new Error('low level');
  const e = new IbackupError('DISK_FULL', { message: 'Need 5 GB.', remedy: 'Free 5 GB.', cause, details: { need: 5 } });
  assert.equal(e.message, 'Need 5 GB.');
  assert.equal(e.remedy, 'Free 5 GB.');
  assert.equal(e.cause, cause);
  assert.deepEqual(e.details, { need: 5 });
  assert.ok(e instanceof Error);
  assert.equal(isIbackupError(new Error('x')), false);
  assert.equal(isIbackupError(null), false);
  assert.equal(hasCode(e, 'USAGE'), false);
});

test('decodeError names what was malformed', () => {
  const e = decodeError('truncated trailer');
  assert.equal(e.code, 'PROTOCOL_DECODE');
  assert.match(e.message, /truncated trailer/);
});
