/**
 * `ibackup backup --verify`: the whole new backup is verified before it is called complete — a
 * plain one as it is, an encrypted one with its password (never on the command line) — and a
 * backup that does not verify is not complete: the last complete one stays the last complete one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdir, truncate } from 'node:fs/promises';
import { listAllBackups } from '../../src/app/list.js';
import { json, startBench, type ErrorDoc, pairedDevice } from '../support/bench.js';

const PROFILE = { extends: 'tiny' as const, behaviour: { keyDerivationIterations: 1000 } };

interface Doc {
  verified: boolean;
  encrypted: boolean;
  full: boolean;
}

describe('backup --verify', () => {
  test('plain and encrypted backups are verified before "Backup completed"', async () => {
    const b = await startBench({ profile: PROFILE });
    try {
      const udid = b.te.udids[0] as string;
      await pairedDevice(b, udid);
      const plain = await b.cli(['backup', '--verify'], { timeoutMs: 60_000 });
      assert.equal(plain.code, 0, plain.stdout + plain.stderr);
      assert.match(plain.stderr, /Verifying the new backup/);
      assert.match(plain.stdout, /Kind: +full, verified/);

      await b.te.emu.find(udid).state.updateSettings({ backupPassword: 'correct horse' });
      const enc = await b.cli(['--json', 'backup', '--verify'], {
        timeoutMs: 60_000,
        env: { IBACKUP_PASSWORD: 'correct horse' },
      });
      assert.equal(enc.code, 0, enc.stdout + enc.stderr);
      const doc = json<Doc>(enc.stdout);
      assert.equal(doc.verified, true);
      assert.equal(doc.encrypted, true);
      assert.doesNotMatch(enc.stdout + enc.stderr, /correct horse/, 'the password is never printed');

      const wrong = await b.cli(['--json', 'backup', '--verify'], {
        timeoutMs: 60_000,
        env: { IBACKUP_PASSWORD: 'wrong' },
      });
      assert.equal(wrong.code, 1);
      assert.equal(json<ErrorDoc>(wrong.stdout).error.code, 'WRONG_PASSWORD');
    } finally {
      await b.dispose();
    }
  });

  test('a new backup that does not verify is not complete; the last complete backup stays', async () => {
    const b = await startBench({ profile: PROFILE });
    try {
      const udid = b.te.udids[0] as string;
      await pairedDevice(b, udid);
      assert.equal((await b.cli(['backup'])).code, 0);
      const runtime = b.te.emu.find(udid).runtime;
      assert.ok(runtime);
      await runtime.mutate('modify', 3);
      // Damage a file the next (incremental) run does not send again: its blob loses its tail.
      const dir = join(b.backupDir, udid);
      const shard = (await readdir(dir)).filter((n) => /^[0-9a-f]{2}$/.test(n)).sort()[0] as string;
      const blob = (await readdir(join(dir, shard)))[0] as string;
      await truncate(join(dir, shard, blob), 1);
      const r = await b.cli(['--json', 'backup', '--verify'], { timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const err = json<ErrorDoc>(r.stdout).error;
      assert.equal(err.code, 'BACKUP_INCOMPLETE');
      assert.match(err.message, /did not verify/);
      assert.match(err.message, /last complete backup is kept/);
      const list = (await listAllBackups([b.backupDir])).backups.filter(
        (x) => x.udid.toLowerCase() === udid.toLowerCase(),
      );
      assert.equal(list.length, 1, 'one row for the phone');
      const row = list[0];
      assert.equal(row?.kind, 'version', 'the kept version is the last complete backup');
      assert.equal(row?.lastComplete, true);
      assert.equal(row?.unfinished, join(b.backupDir, udid), 'the refused run is not listed as complete');
    } finally {
      await b.dispose();
    }
  });
});
