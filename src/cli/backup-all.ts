/**
 * `ibackup backup --all [--parallel N]`: every connected iPhone that trusts this computer, several
 * at once; `{"results":[{"udid","ok","path"?,"error"?}]}` with --json, a line per phone otherwise.
 * Exit code 1 when any phone was not backed up.
 */
import type { Command } from 'commander';
import { backupAll, type BackupAllEntry } from '../app/backup-all.js';
import { backupDevice } from '../app/backup.js';
import { formatBytes } from '../app/format-bytes.js';
import { KeyCache } from '../app/password.js';
import { backupRootsOf, globalsOf, hostContextOf } from './globals.js';
import { ndjson, printJson } from './output.js';
import { passwordSource } from './passwords.js';
import { parseParallel } from './watch.js';
import { withInterrupt } from './with-device.js';

export interface BackupAllFlags {
  parallel?: string;
  full?: boolean;
  allowCopy?: boolean;
  verify?: boolean;
  waitMs?: number;
  passwordStdin?: boolean;
}

function resultLine(r: BackupAllEntry): string {
  if (r.ok) {
    return `${r.udid}: backup completed (${r.full ? 'full' : 'incremental'}, ${formatBytes(r.sizeBytes ?? 0)}, ${((r.durationMs ?? 0) / 1000).toFixed(1)} s) in ${r.path}`;
  }
  return `${r.udid}: not backed up: ${r.error?.message ?? ''} ${r.error?.remedy ?? ''}`;
}

export async function backupAllCommand(c: Command, opts: BackupAllFlags): Promise<void> {
  const g = globalsOf(c);
  const root = backupRootsOf(g)[0] as string;
  const parallel = parseParallel(opts.parallel);
  const keyCache = new KeyCache();
  const say = (line: string): void => {
    if (!g.json && !g.quiet) process.stderr.write(`${line}\n`);
  };
  const result = await withInterrupt((signal) =>
    backupAll(hostContextOf(g), {
      root,
      parallel,
      signal,
      backup: (device, o) =>
        backupDevice(device, {
          ...o,
          ...(opts.full ? { full: true } : {}),
          ...(opts.allowCopy ? { allowCopy: true } : {}),
          ...(opts.verify ? { verify: true } : {}),
          ...(opts.waitMs === undefined ? {} : { waitMs: opts.waitMs }),
          unlock: { keyCache, ...(opts.verify ? { password: passwordSource(opts) } : {}) },
        }),
      onStart: (udid, connection) => say(`${udid}: backing up over ${connection === 'USB' ? 'USB' : 'Wi-Fi'}`),
      onResult: (r) => (g.json ? ndjson(process.stderr, { event: 'result', ...r }) : say(resultLine(r))),
    }),
  );
  if (g.json) printJson(result);
  else for (const r of result.results) process.stdout.write(`${resultLine(r)}\n`);
  if (result.results.some((r) => !r.ok)) process.exitCode = 1;
}
