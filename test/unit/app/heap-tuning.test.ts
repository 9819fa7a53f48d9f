import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../../src/app/heap-tuning.ts', import.meta.url));

test('the backup heap tuning uses flags this Node knows: a fixed room while the heap is small (bounded for a tiny heap), the default once large', () => {
  // V8 reports an unknown flag on stderr (and ignores it): that would both print noise on every
  // backup and leave the collector untuned.
  const script = `
    const m = await import(${JSON.stringify(MODULE)});
    m.tuneHeapForStreaming();
    m.tuneHeapForStreaming();
    const MB = 1024 * 1024;
    const seen = [m.adjustHeapGrowing(0), m.adjustHeapGrowing(1e9), m.adjustHeapGrowing(1e9), m.adjustHeapGrowing(1e6), m.adjustHeapGrowing(16 * MB), m.adjustHeapGrowing(20 * MB)];
    globalThis.gc?.();
    console.log(JSON.stringify(seen));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), [1000, 0, 0, 1000, 300, 240]);
  assert.equal(r.stderr, '');
});
