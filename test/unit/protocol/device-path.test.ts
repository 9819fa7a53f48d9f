/** Device paths: the checks that need no disk, the parts and the normal form shared by the store and the host. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_DEVICE_PATH,
  devicePathParts,
  isPlainDevicePath,
  normalDevicePath,
  parseDevicePath,
} from '../../../src/protocol/device-path.js';

test('a relative path is split into its parts, without empty and "." parts', () => {
  assert.deepEqual(parseDevicePath('U/Snapshot/ab/1'), { parts: ['U', 'Snapshot', 'ab', '1'] });
  assert.deepEqual(parseDevicePath('./U//a/./b/'), { parts: ['U', 'a', 'b'] });
  assert.deepEqual(parseDevicePath('U/a..b/.hidden'), { parts: ['U', 'a..b', '.hidden'] });
  assert.deepEqual(parseDevicePath('.'), { parts: [] });
});

test('each kind of unsafe path is refused with its reason', () => {
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    ['U/' + 'a'.repeat(MAX_DEVICE_PATH), 'too long'],
    ['U/a\0b', 'NUL byte'],
    ['U\\..\\x', 'backslash'],
    ['/etc/passwd', 'absolute'],
    ['C:/Windows', 'absolute'],
    ['c:x', 'absolute'],
    ['U/../x', 'parent folder'],
    ['..', 'parent folder'],
    ['U/a/./../../b', 'parent folder'],
  ];
  for (const [path, problem] of cases) assert.deepEqual(parseDevicePath(path), { problem }, JSON.stringify(path));
  assert.ok('parts' in parseDevicePath('a'.repeat(MAX_DEVICE_PATH)), 'the longest path allowed');
});

test('the normal form joins the parts; a path already normal comes back as is', () => {
  assert.equal(normalDevicePath('U//a/'), 'U/a');
  assert.equal(normalDevicePath('./U/./a'), 'U/a');
  assert.equal(normalDevicePath('U/a'), 'U/a');
  assert.equal(normalDevicePath('U/.a/a.'), 'U/.a/a.');
  assert.equal(normalDevicePath(''), '');
});

test('normal form = parts joined, and normalising twice changes nothing (any path)', () => {
  const path = fc.array(fc.constantFrom('a', 'b', '.', '/', '..'), { maxLength: 12 }).map((xs) => xs.join(''));
  fc.assert(
    fc.property(path, (p) => {
      const n = normalDevicePath(p);
      assert.equal(n, devicePathParts(p).join('/'));
      assert.equal(normalDevicePath(n), n);
      const parsed = parseDevicePath(p);
      if ('parts' in parsed) assert.deepEqual(parsed.parts, devicePathParts(p));
    }),
  );
});

test('a plain path is exactly one parseDevicePath accepts whose parts joined give it back (any path)', () => {
  const path = fc
    .array(fc.constantFrom('a', 'B', '.', '..', '/', '\\', '\0', ':', 'c:', '/.', './'), { maxLength: 10 })
    .map((xs) => xs.join(''));
  fc.assert(
    fc.property(path, (p) => {
      const parsed = parseDevicePath(p);
      const accepted = 'parts' in parsed && parsed.parts.length > 0 && parsed.parts.join('/') === p;
      assert.equal(isPlainDevicePath(p), accepted, JSON.stringify(p));
    }),
    { numRuns: 5000 },
  );
  for (const p of ['U/Snapshot/ab/1', 'U/.a/a.', 'U/a..b', 'a', 'ab:c', '1:/x', 'a'.repeat(MAX_DEVICE_PATH)])
    assert.equal(isPlainDevicePath(p), true, p);
  for (const p of [
    '',
    '.',
    '..',
    'U/',
    'U//a',
    './U',
    'U/./a',
    'U/..',
    '/U',
    'C:/U',
    'c:',
    'U\\a',
    'U/a\0',
    'a:b',
    'a'.repeat(MAX_DEVICE_PATH + 1),
  ])
    assert.equal(isPlainDevicePath(p), false, JSON.stringify(p));
});
