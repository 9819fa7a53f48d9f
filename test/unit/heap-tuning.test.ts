import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../src/app/heap-tuning.ts', import.meta.url));

test('the backup heap tuning uses flags this Node knows: four-fold growth while the heap is small, the default once large', () => {
  // V8 reports an unknown flag on stderr (and ignores it): that would both print noise on every
  // backup and leave the collector untuned.
  const script = `
    const m = await import(${JSON.stringify(MODULE)});
    m.tuneHeapForStreaming();
    m.tuneHeapForStreaming();
    const seen = [m.adjustHeapGrowing(0), m.adjustHeapGrowing(1e9), m.adjustHeapGrowing(1e9), m.adjustHeapGrowing(1e6)];
    globalThis.gc?.();
    console.log(JSON.stringify(seen));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), [true, false, false, true]);
  assert.equal(r.stderr, '');
});
