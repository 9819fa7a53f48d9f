import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSocketAddress, parseSocketAddress, resolveUsbmuxdAddress } from '../../../src/transport/address.js';
import { hasCode } from '../../../src/errors.js';

test('parses UNIX:, host:port and [v6]:port forms', () => {
  assert.deepEqual(parseSocketAddress('UNIX:/var/run/usbmuxd'), { kind: 'unix', path: '/var/run/usbmuxd' });
  assert.deepEqual(parseSocketAddress('unix:/tmp/x y.sock'), { kind: 'unix', path: '/tmp/x y.sock' });
  assert.deepEqual(parseSocketAddress('127.0.0.1:27015'), { kind: 'tcp', host: '127.0.0.1', port: 27015 });
  assert.deepEqual(parseSocketAddress('localhost:0'), { kind: 'tcp', host: 'localhost', port: 0 });
  assert.deepEqual(parseSocketAddress('[::1]:5000'), { kind: 'tcp', host: '::1', port: 5000 });
});

test('a bare path, a missing port or a bad port is a usage error that says how to write it', () => {
  for (const bad of ['/var/run/usbmuxd', 'UNIX:', 'localhost', 'host:99999', 'a:b', '']) {
    assert.throws(
      () => parseSocketAddress(bad),
      (e: unknown) => hasCode(e, 'USAGE'),
      bad,
    );
  }
  assert.throws(() => parseSocketAddress('/tmp/s'), /UNIX:\/tmp\/s/);
});

test('formats addresses the way USBMUXD_SOCKET_ADDRESS expects', () => {
  assert.equal(formatSocketAddress({ kind: 'unix', path: '/a/b' }), 'UNIX:/a/b');
  assert.equal(formatSocketAddress({ kind: 'tcp', host: '127.0.0.1', port: 1 }), '127.0.0.1:1');
  assert.equal(formatSocketAddress({ kind: 'tcp', host: '::1', port: 2 }), '[::1]:2');
});

test('explicit option, then USBMUXD_SOCKET_ADDRESS, then the platform default', () => {
  assert.deepEqual(resolveUsbmuxdAddress('127.0.0.1:1', { USBMUXD_SOCKET_ADDRESS: 'UNIX:/e' }, 'linux'), {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 1,
  });
  assert.deepEqual(resolveUsbmuxdAddress(undefined, { USBMUXD_SOCKET_ADDRESS: 'UNIX:/e' }, 'linux'), {
    kind: 'unix',
    path: '/e',
  });
  assert.deepEqual(resolveUsbmuxdAddress(undefined, {}, 'linux'), { kind: 'unix', path: '/var/run/usbmuxd' });
  assert.deepEqual(resolveUsbmuxdAddress(undefined, {}, 'darwin'), { kind: 'unix', path: '/var/run/usbmuxd' });
  assert.deepEqual(resolveUsbmuxdAddress(undefined, {}, 'win32'), { kind: 'tcp', host: '127.0.0.1', port: 27015 });
});
