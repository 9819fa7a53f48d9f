/**
 * `ibackup watch [--parallel N]`: backs up each trusted phone as it connects when its automatic
 * backup is due, until Ctrl-C or SIGTERM; one line per event (NDJSON on stdout with --json), and
 * a desktop notification when a backup ends, where the system offers one.
 */
import type { Command } from 'commander';
import { parseWait } from '../app/device-wait.js';
import { notifyDesktop } from '../app/notify.js';
import type { WatchEvent } from '../app/watch.js';
import { runWatch } from '../app/watch-service.js';
import { IbackupError } from '../errors.js';
import { formatBytes } from '../app/format-bytes.js';
import { backupRootsOf, globalsOf, hostContextOf } from './globals.js';
import { ndjson } from './output.js';
import { withInterrupt } from './with-device.js';

interface WatchFlags {
  parallel?: string;
  retryAfter?: string;
  checkEvery?: string;
  notify?: boolean;
}

/** `--parallel N`: a whole number from 1 to 64. */
export function parseParallel(text: string | undefined, fallback = 2): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new IbackupError('USAGE', { message: `--parallel must be a whole number from 1 to 64, not "${text}".` });
  }
  return n;
}

/** The human line of an event (null: not worth a line without --json). */
export function watchLine(e: WatchEvent): string | null {
  const who = 'udid' in e ? e.udid : '';
  switch (e.event) {
    case 'attached':
    case 'detached':
      return `${who}: ${e.event} (${e.connection})`;
    case 'queued':
      return `${who}: waiting to back up (place ${e.position} in the queue)`;
    case 'started':
      return `${who}: backing up over ${e.connection === 'USB' ? 'USB' : 'Wi-Fi'}`;
    case 'progress':
      return null;
    case 'completed':
      return `${who}: backup completed (${e.full ? 'full' : 'incremental'}, ${formatBytes(e.sizeBytes)}, ${(e.durationMs / 1000).toFixed(1)} s) in ${e.path}`;
    case 'failed':
      return `${who}: backup failed: ${e.error.message} ${e.error.remedy}${e.retryAfter === null ? '' : ` (tried again after ${e.retryAfter} or when reconnected)`}`;
    case 'skipped':
      return `${who}: not backed up now: ${e.message}${e.nextBackupAfter === undefined ? '' : ` Next backup when connected after ${new Date(e.nextBackupAfter).toLocaleString()}.`}`;
    case 'usbmuxd':
      return `usbmuxd: ${e.message}`;
  }
}

function notification(e: WatchEvent): { title: string; message: string } | null {
  if (e.event === 'completed') return { title: 'iPhone backed up', message: `Backup of ${e.udid} completed.` };
  if (e.event === 'failed') return { title: 'iPhone backup failed', message: `${e.udid}: ${e.error.message}` };
  return null;
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description(
      'back up each trusted iPhone when it connects (USB or Wi-Fi) if its automatic backup is due; runs until Ctrl-C',
    )
    .option('--parallel <n>', 'how many iPhones to back up at once (others wait)', '2')
    .option('--retry-after <duration>', 'try a failed backup again this much later while connected', '10min')
    .option('--check-every <duration>', 'how often connected iPhones are looked at again', '1min')
    .option('--no-notify', 'no desktop notifications')
    .action(async (flags: WatchFlags, cmd: Command) => {
      const g = globalsOf(cmd);
      const parallel = parseParallel(flags.parallel);
      const retryMs = parseWait(flags.retryAfter ?? '10min');
      const tickMs = parseWait(flags.checkEvery ?? '1min');
      const say = (e: WatchEvent): void => {
        if (g.json) ndjson(process.stdout, { ...e, time: new Date().toISOString() });
        else if (!g.quiet || e.event === 'completed' || e.event === 'failed') {
          const line = watchLine(e);
          if (line !== null) process.stdout.write(`${new Date().toLocaleTimeString()} ${line}\n`);
        }
        const note = flags.notify === false ? null : notification(e);
        if (note) notifyDesktop(note.title, note.message);
      };
      await withInterrupt((signal) =>
        runWatch({ ctx: hostContextOf(g), roots: backupRootsOf(g), parallel, retryMs, tickMs, onEvent: say }, signal),
      );
    });
}
