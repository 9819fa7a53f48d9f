import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fc from 'fast-check';
import { pathTooLong, safeEntrySegments, windowsSafeSegment } from '../../../src/backup/safe-names.js';

const W = { windows: true };
const P = { windows: false };

describe('safeEntrySegments', () => {
  test('refuses NUL, absolute, ".." and unusable domains', () => {
    for (const [domain, rel] of [
      ['HomeDomain', 'a\0b'],
      ['Home\0Domain', 'a'],
      ['HomeDomain', '/etc/passwd'],
      ['HomeDomain', '../x'],
      ['HomeDomain', 'a/../../x'],
      ['..', 'x'],
      ['.', 'x'],
      ['', 'x'],
      ['Home/Domain', 'x'],
    ] as const) {
      for (const o of [W, P])
        assert.equal(safeEntrySegments(domain, rel, o).ok, false, `${domain} ${JSON.stringify(rel)}`);
    }
    assert.equal(safeEntrySegments('HomeDomain', 'C:/x', W).ok, false);
    assert.equal(safeEntrySegments('HomeDomain', '..\\..\\x', W).ok, false);
    assert.deepEqual(safeEntrySegments('HomeDomain', '..\\..\\x', P), {
      ok: true,
      segments: ['HomeDomain', '..\\..\\x'],
      changed: false,
    });
  });

  test('keeps ordinary paths; drops empty and "." segments', () => {
    assert.deepEqual(safeEntrySegments('HomeDomain', 'Library/SMS/sms.db', W), {
      ok: true,
      segments: ['HomeDomain', 'Library', 'SMS', 'sms.db'],
      changed: false,
    });
    assert.deepEqual(safeEntrySegments('HomeDomain', '', P), { ok: true, segments: ['HomeDomain'], changed: false });
    assert.deepEqual(safeEntrySegments('HomeDomain', './a//b', P), {
      ok: true,
      segments: ['HomeDomain', 'a', 'b'],
      changed: true,
    });
  });

  test('Windows names: forbidden characters, trailing dots and spaces, reserved device names', () => {
    assert.equal(windowsSafeSegment('a<b>c:d"e|f?g*h'), 'a_b_c_d_e_f_g_h');
    assert.equal(windowsSafeSegment('tab\there'), 'tab_here');
    assert.equal(windowsSafeSegment('name. .'), 'name___');
    for (const r of ['CON', 'con', 'PRN', 'AUX', 'NUL', 'nul.txt', 'COM1', 'com9.log', 'LPT1', 'lpt3.x.y', 'COM¹'])
      assert.equal(windowsSafeSegment(r), `_${r}`);
    for (const ok of ['CONSOLE', 'icon', 'COM10', 'nul_', 'aux-file']) assert.equal(windowsSafeSegment(ok), ok);
    const r = safeEntrySegments('HomeDomain', 'Library/CON/x?.txt', W);
    assert.deepEqual(r, { ok: true, segments: ['HomeDomain', 'Library', '_CON', 'x_.txt'], changed: true });
    assert.deepEqual(safeEntrySegments('HomeDomain', 'Library/CON/x?.txt', P), {
      ok: true,
      segments: ['HomeDomain', 'Library', 'CON', 'x?.txt'],
      changed: false,
    });
  });

  test('over-long names are shortened (extension kept, distinct); over-long paths are reported', () => {
    const a = safeEntrySegments('D', `${'é'.repeat(200)}1.sqlite`, P);
    const b = safeEntrySegments('D', `${'é'.repeat(200)}2.sqlite`, P);
    assert.ok(a.ok && b.ok);
    const [na, nb] = [a.segments[1] as string, b.segments[1] as string];
    assert.ok(Buffer.byteLength(na) <= 255 && na.endsWith('.sqlite') && na !== nb);
    const w = safeEntrySegments('D', 'x'.repeat(400), W);
    assert.ok(w.ok && (w.segments[1] as string).length <= 255);
    assert.equal(pathTooLong(`/out/${'a/'.repeat(2500)}`, P)?.startsWith('would be'), true);
    assert.equal(pathTooLong('/out/a/b', W), undefined);
  });

  test('property: any accepted path stays inside the output folder and has no forbidden segment', () => {
    const part = fc.constantFrom(
      '..',
      '.',
      '',
      'a',
      'B',
      'CON',
      'x.',
      ' ',
      ':',
      '\\',
      '/',
      '\0',
      'é',
      '..\\',
      '*',
      'nul.txt',
    );
    const arbPath = fc.array(part, { maxLength: 8 }).map((xs) => xs.join(''));
    fc.assert(
      fc.property(arbPath, arbPath, fc.boolean(), (domain, rel, windows) => {
        const r = safeEntrySegments(domain, rel, { windows });
        if (!r.ok) return;
        const out = path.resolve('/tmp/out');
        const target = path.join(out, ...r.segments);
        const relative = path.relative(out, target);
        assert.ok(
          relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative),
          `${domain} | ${rel} -> ${relative}`,
        );
        for (const s of r.segments) {
          assert.ok(s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0'));
          if (windows) {
            assert.ok(!/[<>:"/\\|?*]/.test(s) && !/[. ]$/.test(s), s);
            assert.ok(!/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(s), s);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
