import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeLeft } from '../../../src/web/job-rate.js';
import { Job } from '../../../src/web/jobs.js';

test('time left: none after a burst, an estimate once the pace holds, none once it stalls', () => {
  const burst = new TimeLeft();
  burst.sample(10, 0);
  burst.sample(90, 500);
  assert.equal(burst.seconds(600), null, 'half a second of samples tells nothing');
  assert.equal(burst.seconds(6_000), null, 'and a silent phone no more');

  const steady = new TimeLeft();
  for (let t = 0; t <= 5_000; t += 500) steady.sample(t / 200, t); // 5 % a second
  const left = steady.seconds(5_000);
  assert.ok(left !== null && Math.abs(left - 15) <= 1, `about 15 s left: ${left}`);
  assert.equal(steady.seconds(5_000 + 3_000), null, 'no estimate once the percent has not moved for 3 s');

  const jumpy = new TimeLeft();
  jumpy.sample(1, 0);
  jumpy.sample(2, 3_000);
  jumpy.sample(60, 3_500);
  assert.equal(jumpy.seconds(3_500), null, 'estimates that disagree give none');
  assert.equal(new TimeLeft().seconds(0), null);
});

test('a backup with no percent: the time left from its bytes against the previous backup’s size, none past it', () => {
  const job = new Job('u', 'backup', 'backing-up');
  job.bytesExpected = 10_000_000;
  for (let t = 0; t <= 5_000; t += 500) job.sampleBytes(t * 200, t); // 200 kB a second: 50 s in all
  const left = job.view(5_000).etaSeconds;
  assert.ok(left !== null && Math.abs(left - 45) <= 1, `about 45 s left: ${left}`);
  assert.equal(job.view(5_000).bytesExpected, 10_000_000);
  job.sampleBytes(10_000_001, 5_500);
  assert.equal(job.view(5_500).etaSeconds, null, 'no estimate once the bytes pass the previous size');

  const first = new Job('u', 'backup', 'backing-up');
  for (let t = 0; t <= 5_000; t += 500) first.sampleBytes(t * 200, t);
  assert.equal(first.view(5_000).etaSeconds, null, 'a first backup: no total, no estimate from the bytes');
});
