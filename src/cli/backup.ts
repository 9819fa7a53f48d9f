/** `ibackup backup [--full]`: Back Up Now, with progress, ending with "Backup completed". */
import type { Command } from 'commander';
import { backupDevice, type BackupResult } from '../app/backup.js';
import { backupRootsOf, chooseDevice, globalsOf, hostContextOf, humanBytes, interruptSignal } from './device-choice.js';
import { printJson } from './output.js';
import { progressRenderer } from './progress.js';

export function backupText(r: BackupResult): string {
  const when = new Date(r.date).toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
  return [
    'Backup completed.',
    `Last Backup: ${when}`,
    `Kind:        ${r.full ? 'full' : 'incremental'}${r.encrypted ? ', encrypted' : ''}`,
    `Folder:      ${r.path}`,
    `Size:        ${humanBytes(r.sizeBytes)} on disk (${r.filesReceived} files, ${humanBytes(r.bytesReceived)} received in ${(r.durationMs / 1000).toFixed(1)} s)`,
  ].join('\n');
}

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('Back Up Now: back up all of the data on the iPhone to this computer (incremental unless --full)')
    .option('--full', 'make a full backup even when an earlier one exists')
    .option('--allow-copy', 'where the disk cannot make hard links (exFAT), keep the last complete backup safe by copying each file the backup replaces or removes')
    .action(async (opts: { full?: boolean; allowCopy?: boolean }, cmd: Command) => {
      const g = globalsOf(cmd);
      const ctx = hostContextOf(g);
      const { signal, dispose } = interruptSignal();
      const progress = progressRenderer({ json: g.json === true, quiet: g.quiet === true });
      try {
        const device = await chooseDevice(ctx, g, signal);
        const root = backupRootsOf(g)[0] as string;
        if (!g.json && !g.quiet) process.stderr.write(`Backing up ${device.udid} to ${root}\n`);
        const result = await backupDevice(device, {
          root,
          ...(opts.full ? { full: true } : {}),
          ...(opts.allowCopy ? { allowCopy: true } : {}),
          signal,
          onProgress: (p) => progress.update(p),
          onWarning: (m) => progress.note(`Warning: ${m}`),
        });
        progress.stop();
        if (g.json) printJson(result);
        else process.stdout.write(`${backupText(result)}\n`);
      } finally {
        progress.stop();
        dispose();
      }
    });
}
