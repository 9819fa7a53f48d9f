/**
 * What a backup run checks before it may call itself complete, and what it does when it may not.
 * The device says "finished"; the host still does not take its word for blobs it did not receive
 * in this run (left in `Snapshot/` by an interrupted run and reused), and, when asked (--verify),
 * verifies the whole new backup. A refused run is marked unfinished by BackupRun.commit, so the
 * last complete backup (kept aside while the run changed the folder) stays the last complete one.
 */
import { checkReusedBlobs } from '../backup/reused-blobs.js';
import type { BackupProblem } from '../backup/folder.js';
import { readBackupFolder } from '../backup/folder.js';
import type { BackupRun } from '../backup/run.js';
import { IbackupError } from '../errors.js';
import { unlockBackupKeybag, type UnlockOptions } from './password.js';
import { verifyBackupAt } from './verify.js';

export interface RunCheckOptions {
  /** Verify the whole new backup before it is called complete (slower, certain). */
  verify?: boolean;
  /**
   * How to open an encrypted backup: cached derived keys (`--save-key`) and, for --verify, the
   * password (asked for only when needed).
   */
  unlock?: UnlockOptions;
}

export interface Refusal {
  what: 'reused' | 'verify';
  checked: number;
  problems: BackupProblem[];
}

/**
 * The blobs an interrupted run left in `Snapshot/` that the device may reuse. They are kept only
 * where each one can be checked beyond its size after the run: in an encrypted backup whose key
 * is cached (a stale blob does not decrypt with the key the new manifest records). A plain
 * backup records no checksum of its files, so a stale blob of the same size cannot be told from
 * a good one: there, and without the key, the leftovers are removed before the request and the
 * device sends those files again. Real phones lose nothing by it: each run reads a fresh snapshot
 * of the phone (libimobiledevice issue 1361's log), and no public source shows one reusing blobs.
 */
export function prepareLeftovers(run: BackupRun, encrypted: boolean, opts: RunCheckOptions): Promise<string[]> {
  return run.leftovers(async () => encrypted && (await cachedKey(run.deviceDir, opts.unlock)) !== undefined);
}

/** The derived key of the backup in `dir` from the key cache alone (no password asked). */
async function cachedKey(dir: string, unlock: UnlockOptions | undefined): Promise<Uint8Array | undefined> {
  if (unlock?.keyCache === undefined) return undefined;
  const keybag = (await readBackupFolder(dir)).manifest?.backupKeyBag;
  if (keybag === undefined) return undefined;
  const { password: _password, ...cacheOnly } = unlock;
  return unlockBackupKeybag(keybag, cacheOnly).then(
    (r) => r.keys.kek,
    () => undefined,
  );
}

/**
 * The key to check reused blobs with: the cached one, else from the password when one can be
 * asked (unlockBackupKeybag looks in the cache before it asks).
 */
async function checkingKey(dir: string, unlock: UnlockOptions | undefined): Promise<Uint8Array | undefined> {
  if (unlock?.password === undefined) return cachedKey(dir, unlock);
  const keybag = (await readBackupFolder(dir)).manifest?.backupKeyBag;
  return keybag === undefined ? undefined : (await unlockBackupKeybag(keybag, unlock)).keys.kek;
}

/** Runs the checks; returns why the run may not be called complete, or undefined. */
export async function checkRunBeforeComplete(
  run: BackupRun,
  reused: ReadonlySet<string>,
  encrypted: boolean,
  opts: RunCheckOptions,
  phase: (p: 'checking' | 'verifying') => void,
  signal?: AbortSignal,
): Promise<Refusal | undefined> {
  const dir = run.deviceDir;
  if (reused.size > 0) {
    phase('checking');
    const key = encrypted ? await checkingKey(dir, opts.unlock) : undefined;
    const problems =
      encrypted && key === undefined ? [unchecked(reused.size)] : await checkReusedBlobs(dir, reused, key);
    if (problems.length > 0) return { what: 'reused', checked: reused.size, problems };
  }
  if (opts.verify === true) {
    phase('verifying');
    const report = await verifyBackupAt(dir, { ...opts.unlock, ...(signal ? { signal } : {}) });
    const errors = report.problems.filter((p) => p.severity === 'error');
    if (!report.ok || errors.length > 0) return { what: 'verify', checked: report.counts.rows, problems: errors };
  }
  return undefined;
}

function unchecked(n: number): BackupProblem {
  return {
    code: 'PASSWORD_NOT_GIVEN',
    severity: 'error',
    message: `${n} files left by an interrupted backup were reused by the iPhone and cannot be checked without the backup password.`,
  };
}

/** Why the run is not complete, in plain words. */
export function refusalError(refusal: Refusal): IbackupError {
  const sample = refusal.problems
    .slice(0, 3)
    .map((p) => p.message.replace(/\.$/, ''))
    .join('; ');
  const more = refusal.problems.length > 3 ? ` (and ${refusal.problems.length - 3} more)` : '';
  const message =
    refusal.what === 'reused'
      ? `The iPhone reused ${refusal.checked} files left by an interrupted backup, and ${refusal.problems.length} of them do not match the new backup: ${sample}${more}. This backup is not complete; the last complete backup is kept.`
      : `The new backup did not verify: ${sample}${more}. It is not complete; the last complete backup is kept.`;
  return new IbackupError('BACKUP_INCOMPLETE', {
    message,
    remedy: 'Run "ibackup backup" again: the iPhone then sends every file anew.',
    details: {
      problems: refusal.problems.map((p) => ({
        code: p.code,
        message: p.message,
        ...(p.path === undefined ? {} : { path: p.path }),
      })),
    },
  });
}
