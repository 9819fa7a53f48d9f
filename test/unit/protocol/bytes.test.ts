import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { concatBytes } from '../../../src/protocol/bytes.js';

describe('concatBytes', () => {
  test('joins the parts in order into a new array', () => {
    const a = Uint8Array.from([1, 2]);
    const b = Uint8Array.from([3]);
    const out = concatBytes([a, new Uint8Array(0), b]);
    assert.deepEqual([...out], [1, 2, 3]);
    out[0] = 9;
    assert.equal(a[0], 1);
  });

  test('a single part is copied, no parts give an empty array', () => {
    const a = Uint8Array.from([7, 8]);
    const out = concatBytes([a]);
    assert.notEqual(out, a);
    assert.deepEqual([...out], [7, 8]);
    assert.equal(concatBytes([]).length, 0);
  });

  test('uses the total the caller counted', () => {
    const parts = [Uint8Array.from([1]), Uint8Array.from([2, 3])];
    assert.deepEqual([...concatBytes(parts, 3)], [1, 2, 3]);
  });
});
