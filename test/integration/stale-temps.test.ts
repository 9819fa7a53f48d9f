/**
 * Files a killed run left half-written (`<name>.tmp-<pid>`) are removed by the next backup,
 * unless the process that writes them still runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { startBench } from '../support/bench.js';
import { pairedHost } from '../support/crash-safety.js';

test('the next backup removes unfinished files of a dead run and keeps a live one', { timeout: 120_000 }, async () => {
  const b = await startBench();
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const udid = b.te.udids[0] as string;
    const host = await pairedHost(b, udid);
    await backupDevice(host, { root: b.backupDir });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const dir = join(b.backupDir, udid);
    const staleTop = join(dir, `Info.plist.tmp-${dead}`);
    const staleBlob = join(dir, '00', `00aa.tmp-${dead}`);
    const live = join(dir, '00', `00bb.tmp-${sleeper.pid as number}`);
    const notOurs = join(dir, '00', 'notes.tmp-x');
    mkdirSync(join(dir, '00'), { recursive: true });
    for (const f of [staleTop, staleBlob, live, notOurs]) writeFileSync(f, 'half written');
    // A run removes the size figure saved by the last complete run before its first change (and
    // so before any unfinished file): a killed run leaves none, and the next run looks for them.
    const figure = join(b.backupDir, '.ibackup', 'sizes', `${udid}.json`);
    assert.equal(existsSync(figure), true, 'the complete run saved its size');
    rmSync(figure);
    await backupDevice(host, { root: b.backupDir });
    assert.equal(existsSync(staleTop), false);
    assert.equal(existsSync(staleBlob), false);
    assert.equal(existsSync(live), true, 'a file another running process writes must stay');
    assert.equal(existsSync(notOurs), true, 'only names ibackup gives its temp files are touched');
  } finally {
    sleeper.kill('SIGKILL');
    await b.dispose();
  }
});
