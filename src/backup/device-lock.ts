/**
 * One run per phone, across processes: a lock file `<root>/.ibackup/locks/<UDID>.lock` made with an
 * exclusive create (O_EXCL), holding who took it (process id, host name, a random token, when and
 * what for). `watch`, `backup`, `backup --all` and the web app all take it before a run, so two of
 * them never drive one phone's mobilebackup2 at once. A lock whose process is gone (a crash, a
 * kill -9) is stale: the next taker moves it aside under a unique name (an atomic rename, so two
 * takers cannot both win) and takes a fresh one. A lock of another computer (a shared disk) is
 * never taken over.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { IbackupError } from '../errors.js';
import { diskFullError, isNoSpace } from './disk-full.js';

export const LOCKS_DIR = join('.ibackup', 'locks');

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  token: string;
  since: string;
  purpose: string;
}

export interface LockOptions {
  /** What the run is (shown to whoever finds the phone busy): "backup", "watch"… */
  purpose?: string;
  /** Whether a process id is alive (tests inject; default a signal-0 probe). */
  isAlive?: (pid: number) => boolean;
  now?: () => Date;
}

/**
 * The backup root a backup folder belongs to: the folder above `.ibackup` for a kept version
 * (`<root>/.ibackup/versions/<UDID>/<id>`), else the folder holding it (`<root>/<UDID>`).
 */
export function rootOfBackupFolder(dir: string): string {
  const parts = dir.split(sep);
  const i = parts.lastIndexOf('.ibackup');
  return i > 0 ? parts.slice(0, i).join(sep) : dirname(dir);
}

/** The lock file of one device under a backup root (UDIDs compare without dashes and case). */
export function lockPath(root: string, udid: string): string {
  const safe = udid.replace(/-/g, '').toUpperCase();
  if (!/^[0-9A-Z]{1,64}$/.test(safe)) {
    throw new IbackupError('UNSAFE_PATH', { message: `"${udid}" is not a usable device identifier.` });
  }
  return join(root, LOCKS_DIR, `${safe}.lock`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<LockHolder | null | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || typeof v.host !== 'string' || typeof v.token !== 'string') return 'unreadable';
    return { pid: v.pid, host: v.host, token: v.token, since: String(v.since ?? ''), purpose: String(v.purpose ?? '') };
  } catch {
    return 'unreadable';
  }
}

const unknownHolder: LockHolder = { pid: 0, host: 'this computer', token: '', since: 'a moment ago', purpose: '' };

function busyError(udid: string, holder: LockHolder): IbackupError {
  const what = holder.purpose === '' ? 'another ibackup' : `another ibackup (${holder.purpose})`;
  return new IbackupError('BUSY', {
    message: `${what} is already using this iPhone (process ${holder.pid} on ${holder.host}, since ${holder.since}).`,
    remedy: 'Wait until that backup has finished (or stop it), then try again.',
    details: { udid, pid: holder.pid, host: holder.host, since: holder.since, purpose: holder.purpose },
  });
}

/** A held lock; release it exactly once (releasing twice is harmless). */
export class DeviceLock {
  private released = false;

  private constructor(
    readonly path: string,
    readonly holder: LockHolder,
  ) {}

  /**
   * Takes the lock of `udid` under `root`, or throws BUSY naming the holder (DISK_FULL when the
   * disk has no room left even for the lock file).
   */
  static async acquire(root: string, udid: string, opts: LockOptions = {}): Promise<DeviceLock> {
    try {
      return await DeviceLock.take(root, udid, opts);
    } catch (err) {
      if (isNoSpace(err)) throw diskFullError(root, err);
      throw err;
    }
  }

  private static async take(root: string, udid: string, opts: LockOptions): Promise<DeviceLock> {
    const path = lockPath(root, udid);
    await mkdir(join(root, LOCKS_DIR), { recursive: true });
    const holder: LockHolder = {
      pid: process.pid,
      host: hostname(),
      token: randomBytes(8).toString('hex'),
      since: (opts.now ?? (() => new Date()))().toISOString(),
      purpose: opts.purpose ?? 'backup',
    };
    // Two rounds: a stale lock moved aside leaves room for one more try.
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await tryCreate(path, holder)) return new DeviceLock(path, holder);
      const found = await readHolder(path);
      if (found === null) continue; // released between our create and our read
      if (found === 'unreadable') {
        if (await recentlyWritten(path, new Date())) throw busyError(udid, unknownHolder);
        await moveAside(path, null);
        continue;
      }
      if (found.host !== holder.host || (opts.isAlive ?? processAlive)(found.pid)) throw busyError(udid, found);
      await moveAside(path, found.token);
    }
    throw new IbackupError('BUSY', {
      message: 'Another ibackup keeps taking this iPhone at the same moment.',
      details: { udid },
    });
  }

  /** Removes the lock file if it is still ours. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const found = await readHolder(this.path).catch(() => null);
    if (found !== null && found !== 'unreadable' && found.token === this.holder.token) {
      await rm(this.path, { force: true });
    }
  }
}

/** Exclusive create of the lock file with its holder; false when one exists. */
async function tryCreate(path: string, holder: LockHolder): Promise<boolean> {
  // Written to a temporary name first, so a reader never sees a half-written lock.
  const tmp = `${path}.${holder.token}.tmp`;
  await rm(tmp, { force: true });
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(holder));
  } finally {
    await handle.close();
  }
  try {
    // link() fails with EEXIST when the lock exists: the atomic, exclusive step.
    await link(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A disk without hard links (exFAT, FAT32): an exclusive create, written in place.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') return createInPlace(path, holder);
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

async function createInPlace(path: string, holder: LockHolder): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(holder));
    } finally {
      await handle.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** A lock file nobody can read is left alone for a while: its writer may be writing it in place. */
async function recentlyWritten(path: string, now: Date): Promise<boolean> {
  const s = await stat(path).catch(() => null);
  return s !== null && now.getTime() - s.mtimeMs < UNREADABLE_GRACE_MS;
}

const UNREADABLE_GRACE_MS = 10_000;

/**
 * Moves a stale lock out of the way. When another taker replaced it between our look and our
 * rename, the fresh lock we moved is put back (link fails if yet another one appeared).
 */
async function moveAside(path: string, staleToken: string | null): Promise<void> {
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await readHolder(aside).catch(() => null);
  if (moved !== null && moved !== 'unreadable' && moved.token !== staleToken) {
    await link(aside, path).catch(() => undefined);
  }
  await rm(aside, { force: true });
}
