/**
 * `ibackup delete BACKUP [--yes]` and `ibackup archive BACKUP`: remove a backup (after asking on a
 * terminal), or keep a `<UDID>-YYYYMMDD-HHMMSS` copy of it that later backups leave alone, like
 * Finder's Archive.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { archiveBackup, deleteBackup, describeManagedBackup, type ManagedBackup } from '../app/manage.js';
import { resolveBackupArg } from '../app/open-backup.js';
import { IbackupError } from '../errors.js';
import { formatBytes } from '../app/format-bytes.js';
import { backupRootsOf, canPrompt, globalsOf } from './globals.js';
import { printJson } from './output.js';

function when(iso: string | null): string {
  return iso === null
    ? 'an unknown date'
    : new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const KIND_NOTE = { current: '', archive: 'archived ', previous: 'kept previous ' } as const;

/** "Delete the backup of <name> from <date> (<size>) at <path>? [y/N]" on stderr; true on y/yes. */
async function confirmDelete(b: ManagedBackup): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Ctrl-C or the end of input is a "no".
  const ac = new AbortController();
  rl.once('SIGINT', () => ac.abort());
  rl.once('close', () => ac.abort());
  try {
    const question = `Delete the ${KIND_NOTE[b.kind]}backup of ${b.deviceName ?? b.udid} from ${when(b.date)} (${formatBytes(b.sizeBytes)}) at ${b.path}? [y/N] `;
    const answer = (await rl.question(question, { signal: ac.signal })).trim().toLowerCase();
    return answer === 'y' || answer === 'yes';
  } catch (err) {
    if (ac.signal.aborted) {
      process.stderr.write('\n');
      return false;
    }
    throw err;
  } finally {
    rl.close();
  }
}

export function registerManage(program: Command): void {
  program
    .command('delete <backup>')
    .description('remove a backup from the backup folder (asks first on a terminal; --yes to skip the question)')
    .option('-y, --yes', 'delete without asking')
    .action(async (backup: string, opts: { yes?: boolean }, command: Command) => {
      const g = globalsOf(command);
      const roots = backupRootsOf(g);
      const dir = await resolveBackupArg(backup, roots);
      if (opts.yes !== true) {
        if (!canPrompt(g)) {
          throw new IbackupError('USAGE', {
            message: `Not deleting ${dir}: there is no terminal to ask for confirmation.`,
            remedy: 'Pass --yes to delete without asking.',
            details: { path: dir },
          });
        }
        if (!(await confirmDelete(await describeManagedBackup(dir, roots)))) {
          process.stderr.write('Nothing was deleted.\n');
          return;
        }
      }
      const result = await deleteBackup(dir, roots);
      if (g.json) printJson(result);
      else process.stdout.write(`Deleted the backup ${result.deleted}\n`);
    });

  program
    .command('archive <backup>')
    .description(
      'keep a copy of a backup named <UDID>-YYYYMMDD-HHMMSS that later backups do not overwrite (hard links: no extra space)',
    )
    .action(async (backup: string, _opts: unknown, command: Command) => {
      const g = globalsOf(command);
      const roots = backupRootsOf(g);
      const dir = await resolveBackupArg(backup, roots);
      const result = await archiveBackup(dir, roots);
      if (g.json) printJson(result);
      else process.stdout.write(`Archived ${dir}\n      as ${result.archive} (${formatBytes(result.sizeBytes)})\n`);
    });
}
