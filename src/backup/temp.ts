/**
 * Private temporary folders for plaintext that must never sit next to a backup (a decrypted
 * Manifest.db, a copy of a WAL database). Each folder is created with mode 0700 under the system
 * temp folder (or a given parent) and removed on `remove()`, on process exit and on SIGINT,
 * SIGTERM and SIGHUP.
 */
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const live = new Set<string>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooked = false;

function removeAll(): void {
  for (const dir of live) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort at exit: nothing else can be done here.
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  removeAll();
  // Keep the default behaviour (terminate) unless someone else handles the signal.
  if (process.listenerCount(signal) === 1) {
    unhook();
    process.kill(process.pid, signal);
  }
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', removeAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function unhook(): void {
  if (!hooked) return;
  hooked = false;
  process.off('exit', removeAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

export interface PrivateTempDir {
  readonly path: string;
  /** Removes the folder and everything in it (idempotent). */
  remove(): void;
}

/** Creates a 0700 temp folder, removed on `remove()`, exit and termination signals. */
export function createPrivateTempDir(parent: string = os.tmpdir(), prefix = 'ibackup-'): PrivateTempDir {
  const dir = mkdtempSync(path.join(parent, prefix));
  chmodSync(dir, 0o700);
  live.add(dir);
  hook();
  return {
    path: dir,
    remove(): void {
      if (!live.delete(dir)) return;
      rmSync(dir, { recursive: true, force: true });
      if (live.size === 0) unhook();
    },
  };
}

/** Folders created and not yet removed (for tests). */
export function liveTempDirs(): string[] {
  return [...live];
}
