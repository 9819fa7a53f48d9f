import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../src/app/heap-tuning.ts', import.meta.url));

test('the backup heap tuning names a flag this Node knows, and applies once', () => {
  // V8 reports an unknown flag on stderr (and ignores it): that would both print noise on every
  // backup and leave the collector untuned.
  const script = `const m = await import(${JSON.stringify(MODULE)}); m.tuneHeapForStreaming(); m.tuneHeapForStreaming(); console.log('applied');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'applied');
  assert.equal(r.stderr, '');
});
