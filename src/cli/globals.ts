/**
 * The global options of CLI.md and what every command derives from them: the host context, the
 * backup roots, and whether the user may be asked something. A leaf: it imports no command, so
 * the commands and the program that registers them share it without a circle.
 */
import type { Command } from 'commander';
import { backupRoot, openHost, type HostContext } from '../app/context.js';

export interface GlobalOptions {
  udid?: string;
  usbmuxd?: string;
  backupDir?: string;
  json?: boolean;
  quiet?: boolean;
}

export function globalsOf(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function hostContextOf(g: GlobalOptions): HostContext {
  return openHost(g.usbmuxd === undefined ? {} : { usbmuxd: g.usbmuxd });
}

/** Backup roots from --backup-dir / IBACKUP_BACKUP_DIR / the OS default (the chosen one first). */
export function backupRootsOf(g: GlobalOptions): string[] {
  return backupRoot(g.backupDir === undefined ? {} : { backupDir: g.backupDir }).candidates;
}

/** True when we may ask the user something (a terminal on both ends, not --json). */
export function canPrompt(g: GlobalOptions): boolean {
  return g.json !== true && process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** A line on stderr for humans: nothing with --json or --quiet. */
export function sayer(g: GlobalOptions): (line: string) => void {
  return (line) => {
    if (!g.json && !g.quiet) process.stderr.write(`${line}\n`);
  };
}
