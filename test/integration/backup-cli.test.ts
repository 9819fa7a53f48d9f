/**
 * `ibackup backup` from the command line against the virtual iPhone: the --json result of CLI.md,
 * NDJSON progress on stderr, plain progress lines when stderr is not a terminal, an incremental
 * backup after the first one and --full forcing a full one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { folderSize } from '../../src/backup/list.js';
import { readStatusPlist } from '../../src/backup/status.js';
import { json, startBench, pairedDevice } from '../support/bench.js';
import { assertFinished } from '../support/backup-checks.js';

interface BackupDoc {
  udid: string;
  path: string;
  full: boolean;
  date: string;
  sizeBytes: number;
  filesReceived: number;
  bytesReceived: number;
  durationMs: number;
}

const RESULT_KEYS = ['bytesReceived', 'date', 'durationMs', 'filesReceived', 'full', 'path', 'sizeBytes', 'udid'];
const PROGRESS_KEYS = ['bytesDone', 'bytesTotal', 'event', 'filesDone', 'percent', 'phase'];
const PHASES = [
  'preparing',
  'waiting-for-passcode',
  'device-preparing',
  'backing-up',
  'checking',
  'verifying',
  'finishing',
];

interface ProgressEvent {
  event: 'progress';
  phase: string;
  percent: number | null;
  bytesDone: number;
  bytesTotal: number | null;
  filesDone: number;
}

/** Every stderr line is one JSON event; returns the progress events. */
function progressEvents(stderr: string): ProgressEvent[] {
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.ok(lines.length > 0, 'no progress on stderr');
  const events = lines.map((l) => json<{ event: string }>(l));
  for (const e of events)
    assert.ok(e.event === 'progress' || e.event === 'message', `unexpected event ${JSON.stringify(e)}`);
  return events.filter((e): e is ProgressEvent => e.event === 'progress');
}

describe('ibackup backup', () => {
  test('--json result and NDJSON progress; plain lines off a terminal; incremental; --full', async () => {
    const b = await startBench();
    try {
      const udid = b.te.udids[0] as string;
      await pairedDevice(b, udid);
      const deviceDir = join(b.backupDir, udid);

      // First backup: full, one JSON document on stdout, NDJSON progress on stderr.
      const first = await b.cli(['--json', 'backup']);
      assert.equal(first.code, 0, first.stderr);
      const doc = json<BackupDoc>(first.stdout);
      for (const k of RESULT_KEYS) assert.ok(k in doc, `result lacks ${k}`);
      const status = await readStatusPlist(deviceDir);
      assert.deepEqual(
        { udid: doc.udid, path: doc.path, full: doc.full, date: doc.date, sizeBytes: doc.sizeBytes },
        { udid, path: deviceDir, full: true, date: status.date?.toISOString(), sizeBytes: await folderSize(deviceDir) },
      );
      assert.ok(doc.filesReceived >= 90, `filesReceived ${doc.filesReceived}`);
      assert.ok(doc.bytesReceived >= 4 * 1024 * 1024, `bytesReceived ${doc.bytesReceived}`);
      assert.ok(Number.isInteger(doc.durationMs) && doc.durationMs > 0);
      const events = progressEvents(first.stderr);
      for (const e of events) {
        assert.deepEqual(Object.keys(e).sort(), PROGRESS_KEYS);
        assert.ok(PHASES.includes(e.phase), e.phase);
        assert.ok(e.percent === null || (e.percent >= 0 && e.percent <= 100), String(e.percent));
      }
      assert.ok(events.some((e) => e.phase === 'backing-up' && e.filesDone > 0));
      const files = events.map((e) => e.filesDone);
      assert.deepEqual(
        files,
        [...files].sort((x, y) => x - y),
        'filesDone never goes back',
      );
      const backingUp = events.filter((e) => e.phase === 'backing-up').map((e) => e.percent);
      assert.ok(
        backingUp.length > 0 && backingUp.every((p) => p !== null),
        `once backing up, every event has the last known percent: ${JSON.stringify(backingUp)}`,
      );
      const last = events.at(-1);
      assert.deepEqual(
        [last?.phase, last?.percent, last?.filesDone, last?.bytesDone],
        ['finishing', 100, doc.filesReceived, doc.bytesReceived],
      );
      assert.equal(await assertFinished(deviceDir), true);

      // Second: incremental, human text on stdout, plain progress lines on stderr (not a TTY).
      const second = await b.cli(['backup']);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /^Backup completed\.\n/);
      assert.match(second.stdout, /^Kind: +incremental$/m);
      assert.match(second.stdout, new RegExp(`^Folder: +${deviceDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      assert.match(second.stdout, /^Last Backup: .+$/m);
      assert.match(second.stderr, new RegExp(`^Backing up ${udid} to ${b.backupDir}$`, 'm'));
      assert.match(second.stderr, /^(preparing|backing-up|finishing): \d+%, .+ in \d+ files, .+\/s/m);
      assert.ok(
        !second.stderr.includes('\r') && !second.stderr.includes(String.fromCharCode(0x1b)),
        'no bar, no escape codes off a terminal',
      );
      assert.equal(await assertFinished(deviceDir), false);

      // --full forces a full backup.
      const third = await b.cli(['--json', 'backup', '--full']);
      assert.equal(third.code, 0, third.stderr);
      const full = json<BackupDoc>(third.stdout);
      assert.equal(full.full, true);
      assert.ok(full.filesReceived >= doc.filesReceived);
      assert.ok(new Date(full.date) > new Date(doc.date));
      assert.equal(await assertFinished(deviceDir), true);
    } finally {
      await b.dispose();
    }
  });
});
