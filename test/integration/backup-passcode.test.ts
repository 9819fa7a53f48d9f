// iOS 16.1+: the iPhone asks for its passcode before a backup. ibackup says so instead of looking
// hung, goes on once it is typed, and explains a passcode that never comes (error 208).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { json, startBench, type ErrorDoc } from '../support/bench.js';

test('the passcode prompt is announced, and the backup goes on once it is typed', async () => {
  const b = await startBench({ profile: { extends: 'tiny', behaviour: { passcode: { mode: 'after', seconds: 1 } } } });
  try {
    assert.equal((await b.cli(['pair'])).code, 0);
    const r = await b.cli(['backup'], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Enter your passcode on the iPhone to allow the backup/);
    assert.match(r.stdout, /Backup completed/);
  } finally {
    await b.dispose();
  }
});

test('a passcode never typed ends with PASSCODE_REQUIRED in bounded time, not a hang', async () => {
  const b = await startBench({
    profile: { extends: 'tiny', behaviour: { passcode: { mode: 'never' }, passcodeTimeoutSeconds: 2 } },
  });
  try {
    assert.equal((await b.cli(['pair'])).code, 0);
    const started = Date.now();
    const r = await b.cli(['--json', 'backup'], { timeoutMs: 90_000 });
    assert.equal(r.code, 1);
    const e = json<ErrorDoc>(r.stdout).error;
    assert.equal(e.code, 'PASSCODE_REQUIRED');
    assert.match(e.remedy, /passcode/);
    assert.ok(Date.now() - started < 60_000);
  } finally {
    await b.dispose();
  }
});
