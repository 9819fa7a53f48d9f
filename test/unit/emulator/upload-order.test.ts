import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { uploadOrder } from '../../../src/emulator/services/mobilebackup2/upload-order.js';
import type { ContentSource } from '../../../src/emulator/content/model.js';

interface U {
  id: number;
  size: number;
  entry: { source: ContentSource };
}

const BIG = 1000;

function make(kinds: Array<'big' | 'photo' | 'noise'>): U[] {
  return kinds.map((k, id) => ({
    id,
    size: k === 'big' ? BIG + id : id % 10,
    entry: { source: k === 'photo' ? 'photo' : 'noise' },
  }));
}

test('big files first, every file once, each kind in its own order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom<'big' | 'photo' | 'noise'>('big', 'photo', 'noise'), { maxLength: 300 }),
      (kinds) => {
        const list = make(kinds);
        const out = uploadOrder(list, BIG);
        assert.deepEqual(
          [...out].map((u) => u.id).sort((a, b) => a - b),
          list.map((u) => u.id),
        );
        const nBig = list.filter((u) => u.size >= BIG).length;
        assert.ok(out.slice(0, nBig).every((u) => u.size >= BIG));
        for (const pick of [
          (u: U) => u.size >= BIG,
          (u: U) => u.size < BIG && u.entry.source === 'photo',
          (u: U) => u.size < BIG && u.entry.source !== 'photo',
        ]) {
          const ids = out.filter(pick).map((u) => u.id);
          assert.deepEqual(
            ids,
            [...ids].sort((a, b) => a - b),
          );
        }
      },
    ),
  );
});

test('photos are spread evenly among the other small files, not bunched', () => {
  // 500 photos listed together after 19 500 other files, as a camera roll sits in a catalogue.
  const list = make([
    ...Array<'noise'>(9000).fill('noise'),
    ...Array<'photo'>(500).fill('photo'),
    ...Array<'noise'>(10_500).fill('noise'),
  ]);
  const out = uploadOrder(list, BIG);
  const at = out.flatMap((u, i) => (u.entry.source === 'photo' ? [i] : []));
  assert.equal(at.length, 500);
  const gaps = at.slice(1).map((p, i) => p - (at[i] as number));
  assert.ok(Math.min(...gaps) >= 39 && Math.max(...gaps) <= 41, `gaps ${Math.min(...gaps)}–${Math.max(...gaps)}`);
  assert.ok((at[0] as number) <= 40 && (at.at(-1) as number) >= out.length - 41);
});

test('only photos, or none: the order is kept', () => {
  const photos = make(['photo', 'photo', 'big', 'photo']);
  assert.deepEqual(
    uploadOrder(photos, BIG).map((u) => u.id),
    [2, 0, 1, 3],
  );
  const none = make(['noise', 'big', 'noise']);
  assert.deepEqual(
    uploadOrder(none, BIG).map((u) => u.id),
    [1, 0, 2],
  );
});
