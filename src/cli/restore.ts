/**
 * `ibackup restore [--from UDID|PATH] [--system] [--settings] [--remove] [--no-reboot]`: checks
 * the backup and its password on this computer first, then restores it to the iPhone.
 */
import type { Command } from 'commander';
import { restoreDevice, type RestoreResult } from '../app/restore.js';
import { formatBytes } from '../app/format-bytes.js';
import { AT_OPTION, backupDirOf } from './backup-choice.js';
import { withVersionPassword } from '../app/history.js';
import { printJson } from './output.js';
import { addPasswordOption, passwordSource } from './passwords.js';
import { withDevice } from './with-device.js';

interface RestoreFlags {
  from?: string;
  system?: boolean;
  settings?: boolean;
  remove?: boolean;
  reboot?: boolean;
  skipApps?: boolean;
  passwordStdin?: boolean;
  at?: string;
}

export function restoreText(r: RestoreResult): string {
  return [
    'Restore completed.',
    `From:    ${r.from}${r.encrypted ? ' (encrypted)' : ''}`,
    `Sent:    ${r.filesSent} files, ${formatBytes(r.bytesSent)} in ${(r.durationMs / 1000).toFixed(1)} s`,
    r.rebooting
      ? 'The iPhone restarts now; keep it connected until it is back.'
      : 'The iPhone was not restarted (--no-reboot).',
  ].join('\n');
}

export function registerRestore(program: Command): void {
  addPasswordOption(
    program
      .command('restore')
      .description(
        "restore a backup to the iPhone (default: the iPhone's own backup), after checking it and its password here",
      )
      .option('--from <UDID|PATH>', 'the backup to restore from')
      .option('--system', 'restore system files too')
      .option('--settings', "restore settings too (default: keep the iPhone's)")
      .option('--remove', 'remove files on the iPhone that the backup does not have')
      .option('--no-reboot', 'do not restart the iPhone afterwards')
      .option('--skip-apps', 'do not ask the iPhone to reinstall the apps the backup lists')
      .option(...AT_OPTION),
  ).action(async (opts: RestoreFlags, cmd: Command) => {
    await withDevice(cmd, async ({ g, signal, device, progress }) => {
      const backupDir = await backupDirOf(g, opts.from ?? device.udid, signal, opts.at);
      if (!g.json && !g.quiet) process.stderr.write(`Checking ${backupDir} before restoring…\n`);
      const result = await withVersionPassword(backupDir, () =>
        restoreDevice(device, {
          backupDir,
          password: passwordSource(opts),
          ...(opts.system ? { system: true } : {}),
          ...(opts.settings ? { settings: true } : {}),
          ...(opts.remove ? { remove: true } : {}),
          ...(opts.reboot === false ? { noReboot: true } : {}),
          ...(opts.skipApps ? { skipApps: true } : {}),
          signal,
          onWarning: (m) => progress.note(`Warning: ${m}`),
          onChecked: (files) => progress.note(`The backup verifies (${files} files). Restoring to ${device.udid}…`),
          onProgress: (p) => progress.update(p),
        }),
      );
      progress.stop();
      if (g.json) printJson(result);
      else process.stdout.write(`${restoreText(result)}\n`);
    });
  });
}
