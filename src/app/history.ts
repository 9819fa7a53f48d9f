/**
 * `history`: the versions of a phone's backup, with the space each holds alone; its retention
 * policy and pins; and `diff` between two versions. A phone is named by any of its backup
 * folders (the CLI resolves BACKUP/DEVICE as every command does). The work on disk is
 * backup/history.ts, retention.ts and prune.ts.
 */
import { createHash } from 'node:crypto';
import { historyBytes, pickVersion, readHistory, type DeviceHistory, type VersionInfo } from '../backup/history.js';
import { readBackupFolder } from '../backup/folder.js';
import { pruneVersions } from '../backup/prune.js';
import {
  DEFAULT_POLICY,
  readHistorySettings,
  writeHistorySettings,
  type RetentionPolicy,
} from '../backup/retention.js';
import { diffEntries, diffRecords, type VersionDiff } from '../backup/version-diff.js';
import { historyOwner } from '../backup/versions.js';
import { IbackupError, isIbackupError } from '../errors.js';
import { openBackupView, type OpenViewOptions } from './backup-view.js';

export type { RetentionPolicy };

/** A version as `history` shows it: dates as ISO text, and whether it needs an earlier password. */
export type HistoryVersion = Omit<VersionInfo, 'date' | 'statusDate'> & {
  /** When the backup completed (ISO, UTC). */
  date: string;
  /** An encrypted version made under another backup password than the latest's. */
  earlierPassword?: boolean;
};

export interface HistoryResult {
  device: string;
  deviceName: string | null;
  versions: HistoryVersion[];
  sharedBytes: number;
  /** The whole history on disk (hard-linked files counted once). */
  totalBytes: number;
  /** The phone's folder left unfinished by an interrupted backup, if any. */
  unfinished: string | null;
  /** The bytes only that unfinished folder holds (in totalBytes). */
  unfinishedBytes: number;
  policy: RetentionPolicy;
}

/** The phone a backup folder belongs to. */
function ownerOf(folder: string): { root: string; udid: string } {
  const owner = historyOwner(folder);
  if (owner !== undefined) return owner;
  throw new IbackupError('USAGE', {
    message: `${folder} is an archive: it has no history of its own.`,
    remedy: 'Name the phone (its UDID or name, see "ibackup list") to see its history.',
    details: { path: folder },
  });
}

/**
 * A fingerprint of an encrypted backup's keybag: versions with the same one share a password. The
 * whole keybag counts: a password change wraps its class keys anew and may keep its UUID and salt.
 */
export async function keybagFingerprint(dir: string): Promise<string | undefined> {
  const manifest = (await readBackupFolder(dir)).manifest;
  if (manifest?.isEncrypted !== true || manifest.backupKeyBag === undefined) return undefined;
  return createHash('sha256').update(manifest.backupKeyBag).digest('hex').slice(0, 16);
}

async function shown(v: VersionInfo, latestKey: string | undefined): Promise<HistoryVersion> {
  const key = v.encrypted ? await keybagFingerprint(v.path) : undefined;
  const { statusDate: _started, ...rest } = v;
  return {
    ...rest,
    date: v.date.toISOString(),
    ...(key !== undefined && latestKey !== undefined && key !== latestKey ? { earlierPassword: true } : {}),
  };
}

async function deviceName(h: DeviceHistory): Promise<string | null> {
  const newest = h.versions[0];
  if (newest === undefined) return null;
  const f = await readBackupFolder(newest.path);
  return f.info?.deviceName ?? f.manifest?.lockdown?.deviceName ?? null;
}

/**
 * `ibackup history`: the phone's versions, newest first, and the space figures (left at 0 with
 * `sizes: false`, which spares a look at every file).
 */
export async function showHistory(folder: string, opts: { sizes?: boolean } = {}): Promise<HistoryResult> {
  const { root, udid } = ownerOf(folder);
  const h = await readHistory(root, udid, opts);
  const latest = h.versions[0];
  const latestKey = latest?.encrypted === true ? await keybagFingerprint(latest.path) : undefined;
  const versions = await Promise.all(h.versions.map((v) => shown(v, latestKey)));
  return {
    device: udid,
    deviceName: await deviceName(h),
    versions,
    sharedBytes: h.sharedBytes,
    totalBytes: historyBytes(h),
    unfinished: h.unfinished,
    unfinishedBytes: h.unfinishedBytes,
    policy: (await readHistorySettings(root, udid)).policy,
  };
}

/** Changes the phone's retention policy (unnamed fields stay), then applies it at `now`. */
export async function setRetentionPolicy(
  folder: string,
  changes: Partial<RetentionPolicy>,
  now: Date = new Date(),
): Promise<{ device: string; policy: RetentionPolicy; pinned: string[]; removed: string[] }> {
  const { root, udid } = ownerOf(folder);
  const settings = await readHistorySettings(root, udid);
  const policy = { ...DEFAULT_POLICY, ...settings.policy, ...changes };
  const changed = Object.keys(changes).length > 0;
  if (changed) await writeHistorySettings(root, udid, { ...settings, policy });
  const removed = changed ? await pruneVersions(root, udid, now) : [];
  return { device: udid, policy, pinned: settings.pinned, removed };
}

/** Pins (keeps whatever the policy) or unpins a version. */
export async function pinVersion(
  folder: string,
  at: string,
  pin: boolean,
): Promise<{ device: string; id: string; pinned: boolean }> {
  const { root, udid } = ownerOf(folder);
  const v = pickVersion(await readHistory(root, udid, { sizes: false }), at);
  const settings = await readHistorySettings(root, udid);
  const pinned = new Set(settings.pinned);
  if (pin) pinned.add(v.id);
  else pinned.delete(v.id);
  await writeHistorySettings(root, udid, { ...settings, pinned: [...pinned].sort() });
  return { device: udid, id: v.id, pinned: pin };
}

export interface DiffResult extends VersionDiff {
  device: string;
  from: string;
  to: string;
}

/** Whether two versions open with one password (plain ones need none). */
export async function versionsShareAPassword(folder: string, from: string, to: string): Promise<boolean> {
  const { root, udid } = ownerOf(folder);
  const h = await readHistory(root, udid, { sizes: false });
  const [a, b] = [pickVersion(h, from), pickVersion(h, to)];
  if (!a.encrypted || !b.encrypted) return true;
  return (await keybagFingerprint(a.path)) === (await keybagFingerprint(b.path));
}

/**
 * `ibackup diff V1 V2`: files added, changed and removed from V1 to V2; `toOptions` open V2 when
 * it needs another password (see versionsShareAPassword).
 */
export async function diffVersions(
  folder: string,
  from: string,
  to: string,
  options: OpenViewOptions = {},
  toOptions: OpenViewOptions = options,
): Promise<DiffResult> {
  const { root, udid } = ownerOf(folder);
  const h = await readHistory(root, udid, { sizes: false });
  const a = pickVersion(h, from);
  const b = pickVersion(h, to);
  const older = await withVersionPassword(a.path, () => openBackupView(a.path, options));
  try {
    const newer = await withVersionPassword(b.path, () => openBackupView(b.path, toOptions));
    try {
      const changes =
        older.records !== undefined && newer.records !== undefined
          ? diffRecords(older.records(), newer.records())
          : diffEntries(older.entries(), newer.entries());
      return { device: udid, from: a.id, to: b.id, ...changes };
    } finally {
      newer.close();
    }
  } finally {
    older.close();
  }
}

/**
 * When `dir` is a version of a phone's history encrypted under another backup password than its
 * newest version (the password was changed since), says so: that version opens only with the
 * password in use when it was made. Undefined otherwise.
 */
export async function versionPasswordNote(dir: string): Promise<string | undefined> {
  const owner = historyOwner(dir);
  if (owner === undefined) return undefined;
  const mine = await keybagFingerprint(dir);
  if (mine === undefined) return undefined;
  const h = await readHistory(owner.root, owner.udid, { sizes: false }).catch(() => undefined);
  const self = h?.versions.find((v) => v.path === dir);
  const latest = h?.versions[0];
  if (self === undefined || latest === undefined || latest.path === dir || !latest.encrypted) return undefined;
  if ((await keybagFingerprint(latest.path)) === mine) return undefined;
  const when = self.date.toISOString().slice(0, 16).replace('T', ' ');
  return `This version (${self.id}, made ${when} UTC) was encrypted under the backup password in use then; the password was changed after it, so it needs that earlier password, not the latest backup's.`;
}

/** Runs `work` on a version; a wrong password there is explained by `versionPasswordNote`. */
export async function withVersionPassword<T>(dir: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isIbackupError(err) || err.code !== 'WRONG_PASSWORD') throw err;
    const note = await versionPasswordNote(dir).catch(() => undefined);
    if (note === undefined) throw err;
    throw new IbackupError('WRONG_PASSWORD', {
      message: `The password does not open this version. ${note}`,
      remedy: err.remedy,
      cause: err,
      details: { path: dir },
    });
  }
}
