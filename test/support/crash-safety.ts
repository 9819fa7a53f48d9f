/**
 * Shared pieces of the safety tests: a paired virtual iPhone with a private backup folder, the
 * last complete backup as `list` reports it (checked by verify and by reading every file), a
 * disconnect after N bytes the device sends, and an fs layer that records writes and flushes.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { listAllBackups, type ListedBackup } from '../../src/app/list.js';
import { pairDevice } from '../../src/app/pair.js';
import { selectDevice } from '../../src/app/select-device.js';
import { nodeFs, type FsLayer } from '../../src/backup/fs-layer.js';
import { openBackup } from '../../src/backup/open.js';
import { fillingRun } from '../../src/backup/version-fill.js';
import { versionDir, versionsDir } from '../../src/backup/versions.js';
import { verifyBackup } from '../../src/backup/verify.js';
import type { VirtualDevice } from '../../src/emulator/device.js';
import type { HostDevice } from '../../src/host/device.js';
import type { Bench } from './bench.js';

export async function pairedHost(bench: Bench, udid: string): Promise<HostDevice> {
  const device = await selectDevice(bench.ctx, udid);
  await pairDevice(device, {});
  return device;
}

export function virtualDevice(bench: Bench, udid: string): VirtualDevice {
  return bench.te.emu.find(udid);
}

/** The backup `list` marks as the device's last complete one. */
export async function lastComplete(root: string, udid: string): Promise<ListedBackup | undefined> {
  const { backups } = await listAllBackups([root]);
  const mine = backups.filter((b) => b.udid.toLowerCase() === udid.toLowerCase() && b.lastComplete);
  assert.ok(mine.length <= 1, `more than one last complete backup: ${JSON.stringify(mine)}`);
  return mine[0];
}

/** The last complete backup passes verify and every file of it reads back completely. */
export async function assertRecoverable(
  root: string,
  udid: string,
  what: string,
  password?: string,
): Promise<ListedBackup> {
  const last = await lastComplete(root, udid);
  assert.ok(last, `${what}: no complete backup left`);
  const v = await verifyBackup(last.path, password === undefined ? {} : { password });
  // A file the iPhone could not read to its end (iOS 17+) is a warning, and holds what it sent.
  const unreadable = new Set(
    v.problems.filter((p) => p.code === 'UNREADABLE_ON_DEVICE' && p.severity === 'warning').map((p) => p.path),
  );
  assert.deepEqual(
    v.problems.filter((p) => !unreadable.has(p.path)),
    [],
    `${what}: verify problems in ${last.path}`,
  );
  assert.equal(v.ok, true);
  const backup = await openBackup(last.path, password === undefined ? {} : { password });
  try {
    let files = 0;
    for (const row of backup.db.iterate()) {
      if (row.flags !== 1 || unreadable.has(`${row.domain}/${row.relativePath}`)) continue;
      const bytes = await backup.readFile(row);
      assert.equal(bytes.length, Number(row.file?.size ?? 0), `${what}: ${row.domain}/${row.relativePath}`);
      files++;
    }
    assert.ok(files > 10, `${what}: only ${files} files`);
  } finally {
    backup.close();
  }
  return last;
}

/** After a completed run: every version of the history is complete (none still being filled, none half-made). */
export function assertReleased(root: string, udid: string): void {
  const names = existsSync(versionsDir(root, udid)) ? readdirSync(versionsDir(root, udid)) : [];
  assert.deepEqual(
    names.filter((n) => n.endsWith('.partial') || n.startsWith('.')),
    [],
    'a half-made version is left',
  );
  for (const n of names)
    assert.equal(fillingRun(versionDir(root, udid, n)), undefined, `version ${n} was not completed`);
}

/** The newest version folder of a device (during a run: the one it fills), or undefined. */
export function newestVersionDir(root: string, udid: string): string | undefined {
  const names = existsSync(versionsDir(root, udid)) ? readdirSync(versionsDir(root, udid)) : [];
  const ids = names.filter((n) => /^\d{8}-\d{6}(-\d+)?$/.test(n)).sort();
  const id = ids[ids.length - 1];
  return id === undefined ? undefined : versionDir(root, udid, id);
}

/**
 * Wraps the device's mobilebackup2 so every byte the device sends is first offered to `allow`,
 * which returns how many of them may go; when fewer than offered may go, those are sent and the
 * connection is cut (a pulled cable).
 */
export function tapBackupService(device: VirtualDevice, allow: (n: number) => number): () => void {
  const name = 'com.apple.mobilebackup2';
  const original = device.services.get(name);
  assert.ok(original);
  device.services.set(name, {
    ...original,
    serve: (link, dev) => {
      const cut = (): Error => {
        device.disconnectAll();
        link.close();
        return new Error('disconnected (test fault)');
      };
      link.on('error', () => undefined); // the device side of a pulled cable
      const write = link.write.bind(link);
      const send = link.send.bind(link);
      link.write = async (bytes: Uint8Array) => {
        const ok = allow(bytes.length);
        if (ok >= bytes.length) return write(bytes);
        if (ok > 0) await write(bytes.subarray(0, ok)).catch(() => undefined);
        throw cut();
      };
      link.send = (...parts: Uint8Array[]) => {
        const n = parts.reduce((a, p) => a + p.length, 0);
        const ok = allow(n);
        if (ok >= n) return send(...parts);
        if (ok > 0) send(Buffer.concat(parts).subarray(0, ok));
        throw cut();
      };
      original.serve(link, dev);
    },
  });
  return () => device.services.set(name, original);
}

/**
 * Cuts the connection once the device has sent `delta` bytes after the start of backup phase
 * `phase` ("uploading", "moving", "removing", "finished": the device's checkpoints).
 */
export function disconnectInPhase(device: VirtualDevice, phase: string, delta: number): () => void {
  let sent = 0;
  let limit: number | undefined;
  const untap = tapBackupService(device, (n) => {
    if (limit === undefined) {
      sent += n;
      return n;
    }
    const ok = Math.max(0, Math.min(n, limit - sent));
    sent += ok;
    return ok;
  });
  const runtime = device.runtime;
  assert.ok(runtime);
  const arm = async (p: string): Promise<void> => {
    if (p === phase && limit === undefined) limit = sent + delta;
  };
  runtime.checkpoints.push(arm);
  return () => {
    untap();
    runtime.checkpoints = runtime.checkpoints.filter((c) => c !== arm);
  };
}

/** Counts the bytes the device sends, and the count when each backup phase begins. */
export function measurePhases(device: VirtualDevice): {
  phases: Array<{ phase: string; at: number; ms: number }>;
  total: () => number;
  clear: () => void;
} {
  let sent = 0;
  const phases: Array<{ phase: string; at: number; ms: number }> = [];
  const untap = tapBackupService(device, (n) => {
    sent += n;
    return n;
  });
  const runtime = device.runtime;
  assert.ok(runtime);
  const check = async (phase: string): Promise<void> => {
    if (phases.at(-1)?.phase !== phase) phases.push({ phase, at: sent, ms: Date.now() });
  };
  runtime.checkpoints.push(check);
  return {
    phases,
    total: () => sent,
    clear: () => {
      untap();
      runtime.checkpoints = runtime.checkpoints.filter((c) => c !== check);
    },
  };
}

/** A file-system layer that records, in order, what was written and what was flushed. */
export class RecordingFs implements FsLayer {
  private seq = 0;
  readonly written = new Map<string, number>();
  readonly synced = new Map<string, number>();
  readonly events: Array<{ name: string; seq: number }> = [];
  /** Paths written but not flushed when "complete" was declared. */
  unflushedAtComplete: string[] | undefined;
  /** fsyncs of files made before the final flush began (there must be none on the hot path). */
  earlyFileSyncs: string[] = [];
  private flushing = false;
  /** Errors to inject: return an errno code to fail the call with it. */
  inject: (op: string, path: string) => string | undefined = () => undefined;

  constructor(private readonly base: FsLayer = nodeFs) {}

  private fail(op: string, path: string): void {
    const code = this.inject(op, path);
    if (code) throw Object.assign(new Error(`${code}: injected, ${op} '${path}'`), { code });
  }

  private wrote(...paths: string[]): void {
    for (const p of paths) this.written.set(p, ++this.seq);
  }

  open: FsLayer['open'] = async (p, flags, mode) => {
    this.fail('open', p);
    return this.base.open(p, flags, mode);
  };
  rename: FsLayer['rename'] = async (a, b) => {
    this.fail('rename', b);
    await this.base.rename(a, b);
    // A rename moves the inode: what was flushed under the old name stays flushed.
    const w = this.written.get(a) ?? -1;
    const s = this.synced.get(a) ?? -1;
    this.wrote(b, parent(a), parent(b));
    if (s > w) this.synced.set(b, ++this.seq);
  };
  createFile: FsLayer['createFile'] = async (p, unfinished) => {
    this.fail('open', p);
    return this.base.createFile(p, unfinished);
  };
  markFinished: FsLayer['markFinished'] = (fd) => this.base.markFinished(fd);
  marksUnfinished: FsLayer['marksUnfinished'] = (dir) => this.base.marksUnfinished?.(dir) ?? Promise.resolve(false);
  finishSmallFile: FsLayer['finishSmallFile'] = (fd, tmp, parts, dest) => {
    try {
      this.fail('rename', dest);
    } catch (err) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw err;
    }
    this.base.finishSmallFile(fd, tmp, parts, dest);
    this.wrote(dest, parent(tmp), parent(dest));
  };
  mkdir: FsLayer['mkdir'] = async (p, o) => {
    this.fail('mkdir', p);
    const first = await this.base.mkdir(p, o);
    if (first !== undefined || !o.recursive) this.wrote(p, parent(p));
    return first;
  };
  rm: FsLayer['rm'] = async (p, o) => {
    await this.base.rm(p, o);
    this.wrote(parent(p));
  };
  lstat: FsLayer['lstat'] = (p) => this.base.lstat(p);
  readdir: FsLayer['readdir'] = (p) => this.base.readdir(p);
  readdirKinds: FsLayer['readdirKinds'] = (p) =>
    this.base.readdirKinds === undefined ? readdir(p, { withFileTypes: true }) : this.base.readdirKinds(p);
  copyFile: FsLayer['copyFile'] = async (a, b) => {
    this.fail('copyFile', b);
    await this.base.copyFile(a, b);
    this.wrote(b, parent(b));
  };
  link: FsLayer['link'] = async (a, b) => {
    this.fail('link', b);
    await this.base.link(a, b);
    this.wrote(parent(b));
  };
  statfs: FsLayer['statfs'] = (p) => this.base.statfs(p);
  sync: FsLayer['sync'] = async (p, dir) => {
    if (!dir && !this.flushing) this.earlyFileSyncs.push(p);
    await this.base.sync(p, dir);
    this.synced.set(p, ++this.seq);
  };
  /** syncfs: everything written under the file system's root counts as flushed. */
  syncFileSystem = async (p: string): Promise<boolean> => {
    if (this.noSyncFs || !this.base.syncFileSystem || !(await this.base.syncFileSystem(p))) return false;
    this.syncFsCalls++;
    const at = ++this.seq;
    for (const w of this.written.keys()) this.synced.set(w, at);
    return true;
  };
  /** Calls of syncFileSystem that flushed. */
  syncFsCalls = 0;
  /** Pretend syncfs is unavailable (the per-file fsync path is used). */
  noSyncFs = false;
  event(name: string): void {
    this.events.push({ name, seq: this.seq });
    if (name === 'flush-start') this.flushing = true;
    if (name === 'flushed') this.flushing = false;
    if (name === 'complete') this.unflushedAtComplete = this.unflushed();
  }

  /** Paths whose last write came after their last flush (or that were never flushed). */
  unflushed(filter: (p: string) => boolean = () => true): string[] {
    return [...this.written]
      .filter(([p, w]) => filter(p) && (this.synced.get(p) ?? -1) < w && existsSync(p))
      .map(([p]) => p);
  }
}

function parent(p: string): string {
  return join(p, '..');
}
