/**
 * Backup history against the virtual iPhone: ten backups with seeded changes between them (files
 * added, modified, deleted and renamed on the phone) make ten versions; each verifies, holds
 * exactly what the phone held when it was made (every file's bytes), opens in idevicebackup2's
 * `info` and `list`, and `restore --at` puts that state back on the phone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { backupDevice } from '../../src/app/backup.js';
import { restoreDevice } from '../../src/app/restore.js';
import { verifyBackupAt } from '../../src/app/verify.js';
import { readHistory } from '../../src/backup/history.js';
import { openBackup } from '../../src/backup/open.js';
import type { HostDevice } from '../../src/host/device.js';
import type { MutationAction } from '../../src/emulator/content/index.js';
import { pairedDevice, startBench, type Bench } from '../support/bench.js';
import { compareWithBackup, contentOf } from '../support/backup-vs-device.js';
import { backup2 } from '../support/idevicebackup2.js';
import { pairWithTool, requireTools } from '../support/interop-tools.js';
import { seededRandom } from '../support/random.js';

const SEED = Number(process.env.IBACKUP_TEST_SEED ?? 20261207);
const VERSIONS = 10;
const HOUR = 3_600_000;
/** What a restore without --system puts back: the apps' and the user's domains. */
const USER_DOMAINS = (d: string): boolean =>
  d.startsWith('AppDomain') || d === 'HomeDomain' || d === 'CameraRollDomain' || d === 'MediaDomain';

/** domain/path → SHA-256 of the file's bytes, read back from a backup. */
async function digests(dir: string): Promise<Map<string, string>> {
  const backup = await openBackup(dir);
  const out = new Map<string, string>();
  try {
    for (const row of backup.db.iterate()) {
      if (row.flags !== 1) continue;
      const bytes = await backup.readFile(row);
      out.set(`${row.domain}/${row.relativePath}`, createHash('sha256').update(bytes).digest('hex'));
    }
  } finally {
    backup.close();
  }
  return out;
}

describe('backup history: ten versions of the virtual iPhone', () => {
  let bench: Bench;
  let device: HostDevice;
  let udid: string;
  const made: { id: string; files: Map<string, string> }[] = [];

  before(async () => {
    process.stderr.write(`history-versions seed: ${SEED}\n`);
    bench = await startBench();
    udid = bench.te.udids[0] as string;
    device = await pairedDevice(bench, udid);
    const random = seededRandom(SEED);
    const actions: MutationAction[] = ['add', 'modify', 'delete', 'rename'];
    let clock = Date.UTC(2026, 0, 5, 8, 0, 0);
    for (let i = 0; i < VERSIONS; i++) {
      if (i > 0) {
        for (const action of actions)
          if (random() < 0.8) contentOf(bench.te, udid).mutate(action, 1 + Math.floor(random() * 3));
      }
      clock += HOUR;
      const at = new Date(clock);
      const r = await backupDevice(device, { root: bench.backupDir, now: () => at });
      const compared = await compareWithBackup(contentOf(bench.te, udid), r.path, { includeEncryptedOnly: false });
      assert.deepEqual(compared.differences, [], `backup ${i + 1} differs from the phone`);
      made.push({ id: r.history.id, files: await digests(r.path) });
    }
  });

  after(async () => {
    await bench?.dispose();
  });

  test('every backup is a version, newest first, and each holds what the phone held then', async () => {
    const h = await readHistory(bench.backupDir, udid);
    assert.deepEqual(
      h.versions.map((v) => v.id),
      made.map((m) => m.id).reverse(),
    );
    assert.equal(h.versions[0]?.current, true);
    for (const v of h.versions) {
      const report = await verifyBackupAt(v.path);
      assert.equal(report.ok, true, `${v.id}: ${JSON.stringify(report.problems.slice(0, 3))}`);
      const then = made.find((m) => m.id === v.id);
      assert.ok(then);
      assert.deepEqual(await digests(v.path), then.files, `${v.id} is not what the phone held when it was made`);
    }
    const changed = new Set(made.map((m) => [...m.files.entries()].join('\n')));
    assert.ok(changed.size >= VERSIONS - 1, 'the seeded changes changed the phone between backups');
  });

  test("each version opens in idevicebackup2's info and list", async (t) => {
    if (!requireTools(t, ['idevicebackup2', 'idevicepair'])) return;
    await pairWithTool(bench.te, udid);
    const h = await readHistory(bench.backupDir, udid);
    for (const v of h.versions) {
      const [dir, source] = v.current ? [bench.backupDir, udid] : [v.path.slice(0, -v.id.length - 1), v.id];
      const info = await backup2(bench.te, udid, ['-s', source, 'info', dir]);
      assert.match(
        info.stdout,
        /<key>Product Version<\/key>/,
        `${v.id} info: ${info.stdout.slice(0, 300)}${info.stderr}`,
      );
      const list = await backup2(bench.te, udid, ['-s', source, 'list', dir]);
      const lines = list.stdout.split('\n').filter((l) => l.length > 0);
      assert.equal(lines[0], 'Domain,RelativePath,Size', `${v.id} list: ${list.stdout.slice(0, 300)}${list.stderr}`);
      const expected = made.find((m) => m.id === v.id)?.files.size;
      assert.equal(lines.length - 1, expected, `${v.id}: idevicebackup2 lists every file of the version`);
    }
  });

  test('restore --at puts an earlier state back on the phone', async () => {
    const h = await readHistory(bench.backupDir, udid);
    const target = h.versions[5];
    assert.ok(target);
    const opts = { includeEncryptedOnly: false, domain: USER_DOMAINS };
    const before = await compareWithBackup(contentOf(bench.te, udid), target.path, opts);
    assert.ok(before.differences.length > 0, 'the phone has changed since that version');
    await restoreDevice(device, { backupDir: target.path, noReboot: true, remove: true });
    const compared = await compareWithBackup(contentOf(bench.te, udid), target.path, opts);
    assert.deepEqual(compared.differences, [], `the phone after restoring ${target.id}`);
    assert.ok(compared.files > 50);
  });
});
