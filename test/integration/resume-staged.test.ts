/**
 * A backup resumed after interruptions never records a content or key its blobs do not have: the
 * virtual iPhone reuses a blob an interrupted run left in Snapshot/ only when its own record says
 * it staged that very version of the file with that key. Eight rounds, plain and encrypted, each:
 * changes, one or two runs cut at seeded points (full or incremental), changes again (some keep
 * their size), then a run that completes — after which every file of the backup is read with the
 * host's reader, decrypted, and compared with the device's content. With the fault
 * `reuse-stale-snapshot` (the old size-only rule) the host refuses the run where it keeps the
 * leftovers (an encrypted backup whose key is saved), and elsewhere removes them first, so the run
 * holds what the device holds. After every interruption the last complete backup verifies and reads
 * back entirely. Replay a failure with IBACKUP_SEED=<seed printed below>.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { KeyCache } from '../../src/backup/crypto/key-cache.js';
import { checkBackupPassword } from '../../src/app/password.js';
import { openBackup } from '../../src/backup/open.js';
import { isIbackupError } from '../../src/errors.js';
import type { DeviceContent } from '../../src/emulator/content/index.js';
import { parseFault } from '../../src/emulator/faults.js';
import { STAGED_RECORD_FILE } from '../../src/emulator/services/mobilebackup2/staged-record.js';
import { unreadableReason } from '../../src/emulator/services/mobilebackup2/unreadable.js';
import type { HostDevice } from '../../src/host/device.js';
import { seededRandom } from '../support/random.js';
import { startBench, type Bench } from '../support/bench.js';
import {
  assertRecoverable,
  disconnectInPhase,
  measurePhases,
  pairedHost,
  virtualDevice,
} from '../support/crash-safety.js';

const SEED = Number(process.env.IBACKUP_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`resume-staged seed: ${SEED} (replay with IBACKUP_SEED=${SEED})`);

const PROFILE = { extends: 'tiny' as const, behaviour: { keyDerivationIterations: 1000 } };
const ROUNDS = 8;

interface World {
  b: Bench;
  udid: string;
  host: HostDevice;
  root: string;
  password: string | undefined;
  /** The key cache of `--save-key` (an encrypted backup's key is saved after its first run). */
  keyCache: KeyCache;
}

async function world(password?: string): Promise<World> {
  const b = await startBench({ profile: PROFILE });
  const udid = b.te.udids[0] as string;
  if (password !== undefined) await virtualDevice(b, udid).state.updateSettings({ backupPassword: password });
  const host = await pairedHost(b, udid);
  return { b, udid, host, root: b.backupDir, password, keyCache: new KeyCache({ dir: join(b.configHome, 'keys') }) };
}

/** A run of the host as `ibackup backup` makes it (the saved key at hand). */
function backUp(w: World, full = false): ReturnType<typeof backupDevice> {
  return backupDevice(w.host, { root: w.root, unlock: { keyCache: w.keyCache }, ...(full ? { full: true } : {}) });
}

/** `password check --save-key`: later runs find the key without the password. */
async function saveKey(w: World): Promise<void> {
  const password = w.password;
  if (password === undefined) return;
  await checkBackupPassword(join(w.root, w.udid), {
    keyCache: w.keyCache,
    saveKey: true,
    password: async () => password,
  });
}

function contentOf(w: World): DeviceContent {
  const rt = virtualDevice(w.b, w.udid).runtime;
  assert.ok(rt);
  return rt.content;
}

async function mutate(w: World, action: 'add' | 'modify' | 'delete', n: number): Promise<void> {
  const rt = virtualDevice(w.b, w.udid).runtime;
  assert.ok(rt);
  if (n > 0) await rt.mutate(action, n);
}

async function sha1Of(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha1');
  for await (const c of chunks) h.update(c);
  return h.digest('hex');
}

/** Files of the backup whose bytes (decrypted) are not the device's, and files missing on either side. */
async function differences(w: World): Promise<string[]> {
  const content = contentOf(w);
  const productVersion = virtualDevice(w.b, w.udid).profile.identity.productVersion;
  const backup = await openBackup(join(w.root, w.udid), w.password === undefined ? {} : { password: w.password });
  const out: string[] = [];
  const seen = new Set<string>();
  try {
    for (const row of backup.db.iterate()) {
      if (row.kind !== 'file') continue;
      const name = `${row.domain} ${row.relativePath}`;
      seen.add(name);
      const e = content.get(row.domain, row.relativePath);
      if (e === undefined || e.kind !== 'file') {
        out.push(`only in the backup: ${name}`);
        continue;
      }
      // The phone could not read it to its end (iOS 17+): what it sent is partial by design.
      if (unreadableReason(productVersion, e) !== undefined) continue;
      let inBackup: string;
      try {
        inBackup = await sha1Of(backup.fileChunks(row));
      } catch (err) {
        out.push(`${name}: does not read back (${isIbackupError(err) ? err.code : String(err)})`);
        continue;
      }
      if (inBackup !== (await sha1Of(content.openContent(e)))) out.push(`${name}: bytes differ`);
    }
  } finally {
    backup.close();
  }
  for (const e of content.entries({ encrypted: w.password !== undefined })) {
    if (e.kind === 'file' && !seen.has(`${e.domain} ${e.relativePath}`))
      out.push(`only on the device: ${e.domain} ${e.relativePath}`);
  }
  return out;
}

/** A run cut `delta` bytes after its upload began (it may complete when it sends fewer); the last complete backup then verifies and reads back. */
async function interrupted(w: World, delta: number, full: boolean, what = 'after an interruption'): Promise<void> {
  const undo = disconnectInPhase(virtualDevice(w.b, w.udid), 'uploading', delta);
  try {
    await backUp(w, full);
  } catch (err) {
    assert.ok(isIbackupError(err), `untyped error ${String(err)}`);
  } finally {
    undo();
  }
  await assertRecoverable(w.root, w.udid, what, w.password);
}

/** Bytes the device sends in the upload phase of a full backup. */
async function fullUploadBytes(w: World): Promise<number> {
  const m = measurePhases(virtualDevice(w.b, w.udid));
  try {
    await backUp(w, true);
  } finally {
    m.clear();
  }
  await saveKey(w);
  const at = (name: string): number => m.phases.find((p) => p.phase === name)?.at ?? assert.fail(`no ${name} phase`);
  return at('moving') - at('uploading');
}

async function rounds(password: string | undefined, seed: number): Promise<void> {
  const rnd = seededRandom(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const w = await world(password);
  try {
    const upload = await fullUploadBytes(w);
    assert.deepEqual(await differences(w), [], 'the first backup');
    let reused = 0;
    for (let r = 0; r < ROUNDS; r++) {
      await mutate(w, 'modify', int(2, 8));
      await mutate(w, 'add', int(0, 3));
      await mutate(w, 'delete', int(0, 2));
      const cuts = rnd() < 0.3 ? 2 : 1;
      const plan: string[] = [];
      for (let c = 0; c < cuts; c++) {
        const full = rnd() < 0.6;
        const delta = Math.floor(rnd() * upload * (full ? 0.95 : 0.3));
        plan.push(`${full ? 'full' : 'incremental'} run cut ${delta} bytes into its upload`);
        await interrupted(w, delta, full, `seed ${seed}, round ${r + 1}, cut ${c + 1}`);
        // Changes between runs: many files, about half of them keeping their size.
        await mutate(w, 'modify', int(10, 30));
      }
      const what = `seed ${seed}, round ${r + 1}: ${plan.join(', then ')}`;
      reused += (await backUp(w)).reusedFiles;
      assert.deepEqual(await differences(w), [], what);
      await assertRecoverable(w.root, w.udid, what, w.password);
      assert.equal(
        existsSync(join(virtualDevice(w.b, w.udid).state.dir, STAGED_RECORD_FILE)),
        false,
        `${what}: the record is cleared`,
      );
    }
    // Plain: the host removes the leftovers (nothing to reuse); encrypted with the key saved: reused and checked.
    console.log(
      `${password === undefined ? 'plain' : 'encrypted'}: ${reused} staged files reused by the device, each checked by the host`,
    );
  } finally {
    await w.b.dispose();
  }
}

describe('a resumed backup holds what the device holds', { timeout: 600_000 }, () => {
  test(`plain: ${ROUNDS} rounds of seeded interruptions and changes`, () => rounds(undefined, SEED));
  test(`encrypted: ${ROUNDS} rounds of seeded interruptions and changes`, () => rounds('resume-pw', SEED + 1));

  test('the fault reuse-stale-snapshot in an encrypted backup whose key is saved: the host finds the stale blobs and refuses the run', async () => {
    const w = await world('stale-pw');
    try {
      const upload = await fullUploadBytes(w);
      await interrupted(w, Math.floor(upload * 0.9), true);
      await mutate(w, 'modify', 40);
      virtualDevice(w.b, w.udid).runtime?.faults.set(parseFault('reuse-stale-snapshot'));
      await assert.rejects(backUp(w), (err: unknown) => {
        assert.ok(isIbackupError(err) && err.code === 'BACKUP_INCOMPLETE', String(err));
        assert.match(
          err.message,
          /The iPhone reused \d+ files left by an interrupted backup, and \d+ of them do not match the new backup/,
        );
        assert.match(err.message, /the last complete backup is kept/);
        return true;
      });
      assert.equal(virtualDevice(w.b, w.udid).runtime?.faults.list().length, 0, 'the fault fired');
      // The last complete backup is the one before; the next run sends everything and is right.
      await assertRecoverable(w.root, w.udid, 'after the refused run', w.password);
      const again = await backUp(w);
      assert.equal(again.reusedFiles, 0);
      assert.deepEqual(await differences(w), []);
    } finally {
      await w.b.dispose();
    }
  });

  test('the fault reuse-stale-snapshot in a plain backup: the host removed the leftovers, so nothing stale can be reused', async () => {
    const w = await world();
    try {
      const upload = await fullUploadBytes(w);
      await interrupted(w, Math.floor(upload * 0.9), true);
      await mutate(w, 'modify', 40);
      virtualDevice(w.b, w.udid).runtime?.faults.set(parseFault('reuse-stale-snapshot'));
      const r = await backUp(w);
      assert.equal(r.reusedFiles, 0);
      assert.deepEqual(await differences(w), []);
    } finally {
      await w.b.dispose();
    }
  });
});
