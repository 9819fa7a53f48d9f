/**
 * `ibackup delete BACKUP [--at V] [--yes]` and `ibackup archive BACKUP [--at V]`: remove a phone's
 * backup with its history, or one version of it (after asking on a terminal), or keep a
 * `<UDID>-YYYYMMDD-HHMMSS` copy of it (or of a version) that later backups leave alone and Finder
 * lists, like Finder's Archive.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { archiveBackup, deleteBackup, describeManagedBackup, type ManagedBackup } from '../app/manage.js';
import { resolveBackupArg, resolveFolder } from '../app/open-backup.js';
import { AT_OPTION } from './backup-choice.js';
import { IbackupError } from '../errors.js';
import { formatBytes } from '../app/format-bytes.js';
import { backupRootsOf, canPrompt, globalsOf } from './globals.js';
import { printJson } from './output.js';

function when(iso: string | null): string {
  return iso === null
    ? 'an unknown date'
    : new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const KIND_NOTE = { current: '', archive: 'archived ', version: 'earlier version of the ' } as const;

/** What a delete removes, in words: the backup, and with a phone's backup its earlier versions. */
function deleteQuestion(b: ManagedBackup, onlyThisVersion: boolean): string {
  const who = `${b.deviceName ?? b.udid} from ${when(b.date)}`;
  const earlier = b.history?.earlierVersions ?? 0;
  if (b.kind === 'current' && !onlyThisVersion && earlier > 0) {
    const n = `${earlier} earlier version${earlier === 1 ? '' : 's'}`;
    return `Delete the backup of ${who} and its ${n} (${formatBytes(b.history?.bytes ?? b.sizeBytes)} in all) at ${b.path}? [y/N] `;
  }
  const what = onlyThisVersion ? 'this version of the backup' : `${KIND_NOTE[b.kind]}backup`;
  return `Delete the ${what} of ${who} (${formatBytes(b.sizeBytes)}) at ${b.path}? [y/N] `;
}

/** Asks the delete question on stderr; true on y/yes. */
async function confirmDelete(b: ManagedBackup, onlyThisVersion: boolean): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Ctrl-C or the end of input is a "no".
  const ac = new AbortController();
  rl.once('SIGINT', () => ac.abort());
  rl.once('close', () => ac.abort());
  try {
    const question = deleteQuestion(b, onlyThisVersion);
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
    .description(
      "remove a phone's backup and its history, an archive, or with --at one version (asks first on a terminal; --yes to skip the question)",
    )
    .option('-y, --yes', 'delete without asking')
    .option(...AT_OPTION)
    .action(async (backup: string, opts: { yes?: boolean; at?: string }, command: Command) => {
      const g = globalsOf(command);
      const roots = backupRootsOf(g);
      // Without --at, a phone's own folder: its backup goes with its whole history.
      const dir =
        opts.at === undefined ? await resolveFolder(backup, roots) : await resolveBackupArg(backup, roots, opts.at);
      const onlyThisVersion = opts.at !== undefined;
      if (opts.yes !== true) {
        if (!canPrompt(g)) {
          throw new IbackupError('USAGE', {
            message: `Not deleting ${dir}: there is no terminal to ask for confirmation.`,
            remedy: 'Pass --yes to delete without asking.',
            details: { path: dir },
          });
        }
        if (!(await confirmDelete(await describeManagedBackup(dir, roots), onlyThisVersion))) {
          process.stderr.write('Nothing was deleted.\n');
          return;
        }
      }
      const result = await deleteBackup(dir, roots, { onlyThisVersion });
      if (g.json) printJson(result);
      else process.stdout.write(`Deleted the backup ${result.deleted}\n`);
    });

  program
    .command('archive <backup>')
    .description(
      'keep a copy of a backup (or with --at, of a version) named <UDID>-YYYYMMDD-HHMMSS that later backups do not overwrite and Finder lists (hard links: no extra space)',
    )
    .option(...AT_OPTION)
    .action(async (backup: string, opts: { at?: string }, command: Command) => {
      const g = globalsOf(command);
      const roots = backupRootsOf(g);
      const dir = await resolveBackupArg(backup, roots, opts.at);
      const result = await archiveBackup(dir, roots);
      if (g.json) printJson(result);
      else process.stdout.write(`Archived ${dir}\n      as ${result.archive} (${formatBytes(result.sizeBytes)})\n`);
    });
}
