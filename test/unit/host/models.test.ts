import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKnownProductType, knownProductTypes, modelName } from '../../../src/host/models.js';

test("marketing names of iPhones (hand-written from Apple's model list)", () => {
  const cases: [string, string][] = [
    ['iPhone1,1', 'iPhone'],
    ['iPhone3,1', 'iPhone 4'],
    ['iPhone8,4', 'iPhone SE'],
    ['iPhone10,3', 'iPhone X'],
    ['iPhone10,6', 'iPhone X'],
    ['iPhone12,8', 'iPhone SE (2nd generation)'],
    ['iPhone14,2', 'iPhone 13 Pro'],
    ['iPhone14,6', 'iPhone SE (3rd generation)'],
    ['iPhone15,2', 'iPhone 14 Pro'],
    ['iPhone15,4', 'iPhone 15'],
    ['iPhone16,1', 'iPhone 15 Pro'],
    ['iPhone16,2', 'iPhone 15 Pro Max'],
    ['iPhone17,1', 'iPhone 16 Pro'],
    ['iPhone17,3', 'iPhone 16'],
    ['iPhone17,5', 'iPhone 16e'],
    ['iPod9,1', 'iPod touch (7th generation)'],
    ['iPad13,18', 'iPad (10th generation)'],
  ];
  for (const [type, name] of cases) assert.equal(modelName(type), name, type);
});

test('every iPhone generation from iPhone1 to iPhone17 has at least one entry', () => {
  for (let major = 1; major <= 17; major++) {
    assert.ok(
      knownProductTypes().some((t) => t.startsWith(`iPhone${major},`)),
      `iPhone${major},x`,
    );
  }
});

test('unknown ProductTypes are shown as they are', () => {
  assert.equal(modelName('iPhone99,9'), 'iPhone99,9');
  assert.equal(modelName(''), '');
  assert.equal(isKnownProductType('Watch6,1'), false);
  assert.equal(modelName('__proto__'), '__proto__');
});
