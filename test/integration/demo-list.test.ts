/**
 * `ibackup demo` end to end (its own virtual iPhone, pairing, backup, verification), twice so the
 * second run is incremental, then `ibackup list` over the demo's backup folder, text and --json.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderSize } from '../../src/backup/list.js';
import { readStatusPlist } from '../../src/backup/status.js';
import { cliEnv, json, runCli } from '../support/bench.js';
import { assertFinished, readInfo } from '../support/backup-checks.js';

interface ListDoc {
  backups: Array<{
    path: string;
    udid: string;
    deviceName: string | null;
    iosVersion: string | null;
    date: string | null;
    sizeBytes: number;
    encrypted: boolean;
    complete: boolean;
    kind: string;
  }>;
}

const LIST_KEYS = ['complete', 'date', 'deviceName', 'encrypted', 'iosVersion', 'kind', 'path', 'sizeBytes', 'udid'];

/** The cell under a column of a text table whose columns are separated by at least two spaces. */
function tableReader(head: string, line: string): (column: string) => string {
  const starts: Array<[string, number]> = [];
  for (const m of head.matchAll(/\S+(?: \S+)*/g)) starts.push([m[0], m.index]);
  return (column) => {
    const i = starts.findIndex(([name]) => name === column);
    assert.ok(i >= 0, `no column ${column} in ${head}`);
    const next = starts[i + 1];
    return line.slice(starts[i]?.[1], next?.[1]).trim();
  };
}

describe('ibackup demo and ibackup list', () => {
  test('demo backs up and verifies, a second run is incremental; list shows the backup', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ibackup-demo-'));
    const backups = join(home, 'Backup');
    const state = join(home, 'state');
    const env = cliEnv(join(home, 'config'), join(home, 'unused'));
    const demo = (): ReturnType<typeof runCli> =>
      runCli(['demo', '--profile', 'tiny', '--backup-dir', backups, '--state', state], env, 45_000);
    try {
      const first = await demo();
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.match(first.stdout, /^Backup completed\.$/m);
      assert.match(first.stdout, /^Kind: +full$/m);
      const verified =
        /^Verified: +(\d+) Manifest\.db rows \((\d+) files, (\d+) folders, (\d+) links\), (\d+) files present .*no problems( \(1 warning: the file the iPhone could not read\))?\.$/m.exec(
          first.stdout,
        );
      assert.ok(verified, first.stdout);
      const [rows, files, folders, links, present] = verified.slice(1).map(Number) as [
        number,
        number,
        number,
        number,
        number,
      ];
      assert.ok(files >= 90, `${files} files`);
      assert.equal(rows, files + folders + links);
      assert.equal(present, files);
      const folder = /^Folder: +(.+)$/m.exec(first.stdout)?.[1] ?? '';
      assert.ok(folder.startsWith(backups), first.stdout);
      assert.equal(await assertFinished(folder), true);

      const second = await demo();
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.match(second.stdout, /^Backup completed\.$/m);
      assert.match(second.stdout, /^Kind: +incremental$/m);
      assert.match(second.stdout, new RegExp(`^Verified: +${rows} Manifest\\.db rows`, 'm'));
      assert.equal(await assertFinished(folder), false);

      const info = await readInfo(folder);
      const status = await readStatusPlist(folder);
      const listed = await runCli(['--json', 'list', '--backup-dir', backups], env);
      assert.equal(listed.code, 0, listed.stderr);
      const doc = json<ListDoc>(listed.stdout);
      assert.equal(doc.backups.length, 1);
      const entry = doc.backups[0];
      assert.ok(entry);
      for (const k of LIST_KEYS) assert.ok(k in entry, `list entry lacks ${k}`);
      const shown = Object.fromEntries(LIST_KEYS.map((k) => [k, entry[k as keyof typeof entry]]));
      assert.deepEqual(shown, {
        path: folder,
        udid: folder.slice(backups.length + 1),
        deviceName: info['Device Name'],
        iosVersion: info['Product Version'],
        date: status.date?.toISOString(),
        sizeBytes: await folderSize(folder),
        encrypted: false,
        complete: true,
        kind: 'current',
      });

      const text = await runCli(['list', '--backup-dir', backups], env);
      assert.equal(text.code, 0, text.stderr);
      const [head, line, extra] = text.stdout.trimEnd().split('\n');
      assert.equal(extra, undefined, text.stdout);
      const cell = tableReader(head ?? '', line ?? '');
      assert.deepEqual(['Device', 'iOS', 'Encrypted', 'Complete', 'Folder'].map(cell), [
        info['Device Name'],
        info['Product Version'],
        'no',
        'yes',
        folder,
      ]);
      assert.match(cell('Kind'), /^current\b/);
      assert.match(cell('Size'), /^\d+(\.\d+)? (MB|MiB|KB|KiB)$/);
      assert.match(cell('Last Backup'), /\d{1,2}:\d{2}/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
