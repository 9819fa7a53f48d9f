/** `ibackup list`: every backup under the backup folder — device, iOS, Last Backup, size, encrypted, complete. */
import type { Command } from 'commander';
import { listAllBackups, type ListedBackup } from '../app/list.js';
import { formatBytes } from '../app/format-bytes.js';
import { backupRootsOf, globalsOf } from './globals.js';
import { printJson } from './output.js';

export function listText(backups: readonly ListedBackup[], roots: readonly string[]): string {
  if (backups.length === 0) return `No backups in ${roots.join(' or ')}.`;
  const rows = backups.map((b) => [
    b.deviceName ?? b.udid,
    b.iosVersion ?? '?',
    b.date ? new Date(b.date).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'unknown',
    formatBytes(b.sizeBytes),
    b.encrypted ? 'yes' : 'no',
    b.complete ? 'yes' : 'NO',
    b.lastComplete ? `${b.kind} (last complete)` : b.kind,
    b.versions === undefined ? '' : `${b.versions.count} (${formatBytes(b.versions.bytes)})`,
    b.path,
  ]);
  const head = ['Device', 'iOS', 'Last Backup', 'Size', 'Encrypted', 'Complete', 'Kind', 'Versions', 'Folder'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  const unfinished = backups.filter((b) => b.unfinished !== undefined);
  const notes = unfinished.map(
    (b) =>
      `The last backup of ${b.deviceName ?? b.udid} did not complete (${b.unfinished}); its last complete one is listed.`,
  );
  return [line(head), ...rows.map(line), ...notes].join('\n');
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('every backup under the backup folder: device, iOS, Last Backup, size, encrypted, complete')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalsOf(cmd);
      const roots = backupRootsOf(g);
      const result = await listAllBackups(roots);
      if (g.json) printJson(result);
      else process.stdout.write(`${listText(result.backups, roots)}\n`);
    });
}
