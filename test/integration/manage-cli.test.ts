/**
 * `ibackup delete` and `ibackup archive` from the command line, on a backup of the virtual iPhone:
 * archive --json and its listing, the archive verifying on its own, delete refusing to run
 * unattended without --yes (exit 2 and the remedy), delete --yes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { folderSize } from '../../src/backup/list.js';
import { json, startBench, type ErrorDoc, pairedDevice } from '../support/bench.js';

interface ListDoc {
  backups: Array<{ path: string; udid: string; kind: string; complete: boolean }>;
}

describe('ibackup delete / archive', () => {
  test(
    'archive --json, list shows it, delete needs --yes off a terminal, delete --yes',
    { timeout: 240_000 },
    async () => {
      const b = await startBench();
      try {
        const udid = b.te.udids[0] as string;
        await pairedDevice(b, udid);
        const made = await b.cli(['--json', 'backup'], { timeoutMs: 120_000 });
        assert.equal(made.code, 0, made.stderr);
        const dir = join(b.backupDir, udid);

        // Archive by UDID: one JSON document naming the new folder and its size.
        const archived = await b.cli(['--json', 'archive', udid]);
        assert.equal(archived.code, 0, archived.stderr);
        const doc = json<{ archive: string; sizeBytes: number }>(archived.stdout);
        assert.deepEqual(Object.keys(doc).sort(), ['archive', 'sizeBytes']);
        assert.match(basename(doc.archive), new RegExp(`^${udid}-\\d{8}-\\d{6}$`));
        assert.equal(join(doc.archive, '..'), b.backupDir);
        assert.equal(doc.sizeBytes, await folderSize(doc.archive));
        assert.equal(doc.sizeBytes, await folderSize(dir));

        const listed = json<ListDoc>((await b.cli(['--json', 'list'])).stdout).backups;
        assert.deepEqual(
          listed.map((x) => [x.path, x.kind, x.complete, x.udid]).sort(),
          [
            [dir, 'current', true, udid],
            [doc.archive, 'archive', true, udid],
          ].sort(),
        );
        const verified = await b.cli(['--json', 'verify', doc.archive], { timeoutMs: 60_000 });
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
        assert.equal(json<{ ok: boolean }>(verified.stdout).ok, true);

        // Human output says what was made and where.
        const second = await b.cli(['archive', doc.archive]);
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stdout, new RegExp(`Archived ${doc.archive.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        const secondPath = /as (\S+) \(/.exec(second.stdout)?.[1] as string;
        assert.ok(existsSync(secondPath), second.stdout);

        // No terminal and no --yes: a usage error that says to pass --yes; nothing deleted.
        const refused = await b.cli(['delete', udid]);
        assert.equal(refused.code, 2, refused.stderr);
        assert.match(refused.stderr, /--yes/);
        const refusedJson = await b.cli(['--json', 'delete', udid]);
        assert.equal(refusedJson.code, 2);
        const err = json<ErrorDoc>(refusedJson.stdout).error;
        assert.equal(err.code, 'USAGE');
        assert.match(err.remedy, /--yes/);
        assert.ok(existsSync(dir), 'the backup survives a refused delete');

        // A folder outside the backup folder is refused.
        const outsideDir = join(b.backupDir, '..', 'not-the-backup-folder');
        mkdirSync(outsideDir);
        writeFileSync(join(outsideDir, 'Info.plist'), 'x');
        const outside = await b.cli(['delete', '--yes', outsideDir]);
        assert.equal(outside.code, 2, outside.stderr);
        assert.match(outside.stderr, /not in the backup folder/);
        assert.ok(existsSync(join(outsideDir, 'Info.plist')), 'a folder outside survives');

        const sizeRecord = join(b.backupDir, '.ibackup', 'sizes', `${udid}.json`);
        assert.equal(existsSync(sizeRecord), true, 'the complete backup saved its size');
        const deleted = await b.cli(['--json', 'delete', '--yes', dir]);
        assert.equal(deleted.code, 0, deleted.stderr);
        assert.deepEqual(json<{ deleted: string }>(deleted.stdout), { deleted: dir });
        assert.equal(existsSync(dir), false);
        assert.equal(existsSync(sizeRecord), false, 'its saved size goes with it');
        const human = await b.cli(['delete', '--yes', secondPath]);
        assert.equal(human.code, 0, human.stderr);
        assert.match(human.stdout, /Deleted the backup/);

        const after = json<ListDoc>((await b.cli(['--json', 'list'])).stdout).backups;
        assert.deepEqual(
          after.map((x) => [x.path, x.kind]),
          [[doc.archive, 'archive']],
        );
        const again = await b.cli(['--json', 'verify', doc.archive], { timeoutMs: 60_000 });
        assert.equal(again.code, 0, again.stdout + again.stderr);
      } finally {
        await b.dispose();
      }
    },
  );
});
