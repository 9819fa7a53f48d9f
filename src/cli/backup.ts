/** `ibackup backup [--full] [--verify] [--wait D]`: Back Up Now, with progress, ending with "Backup completed". */
import type { Command } from 'commander';
import { backupDevice, type BackupResult } from '../app/backup.js';
import { withLinkGuard } from '../app/link-guard.js';
import { parseWait } from '../app/device-wait.js';
import { KeyCache } from '../app/password.js';
import { formatBytes } from '../app/format-bytes.js';
import { backupRootsOf } from './globals.js';
import { printJson } from './output.js';
import { addPasswordOption, passwordSource } from './passwords.js';
import { backupAllCommand } from './backup-all.js';
import { backupPhotosLines } from './photos-text.js';
import { withDevice } from './with-device.js';

/** This backup's version, and what became of the one before it. */
function historyLine(r: BackupResult): string {
  const h = r.history;
  if (h.off) return `${h.id} (the disk cannot make hard links, so no earlier versions are kept)`;
  const kept = h.versionMade === null ? '' : `; the previous backup is kept as version ${h.versionMade}`;
  const pruned = h.pruned.length === 0 ? '' : `; ${h.pruned.length} older removed by the retention policy`;
  return `${h.id}${kept}${pruned} ("ibackup history")`;
}

export function backupText(r: BackupResult): string {
  const when = new Date(r.date).toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
  const lines = [
    'Backup completed.',
    `Last Backup: ${when}`,
    `Kind:        ${r.full ? 'full' : 'incremental'}${r.encrypted ? ', encrypted' : ''}${r.verified ? ', verified' : ''}`,
    `Folder:      ${r.path}`,
    `Size:        ${formatBytes(r.sizeBytes)} on disk (${r.filesReceived} files, ${formatBytes(r.bytesReceived)} received in ${(r.durationMs / 1000).toFixed(1)} s)`,
  ];
  lines.push(`Version:     ${historyLine(r)}`);
  if (r.photos) lines.push(...backupPhotosLines(r.photos));
  if (r.reusedFiles > 0)
    lines.push(`Resumed:     ${r.reusedFiles} files sent before an interruption were reused, each checked`);
  if (r.unreadableFiles.length > 0) {
    lines.push(
      r.unreadableFiles.length === 1
        ? 'Warning:     the iPhone could not read 1 file to the end; it is kept as the iPhone sent it:'
        : `Warning:     the iPhone could not read ${r.unreadableFiles.length} files to the end; they are kept as the iPhone sent them:`,
    );
    for (const f of r.unreadableFiles.slice(0, 10))
      lines.push(`  ${f.devicePath || f.fileId}${f.reason ? ` (${f.reason})` : ''}`);
    if (r.unreadableFiles.length > 10) lines.push(`  … and ${r.unreadableFiles.length - 10} more`);
  }
  return lines.join('\n');
}

interface BackupFlags {
  all?: boolean;
  parallel?: string;
  full?: boolean;
  allowCopy?: boolean;
  verify?: boolean;
  wait?: string;
  passwordStdin?: boolean;
}

export function registerBackup(program: Command): void {
  const cmd = program
    .command('backup')
    .description('Back Up Now: back up all of the data on the iPhone to this computer (incremental unless --full)')
    .option('--full', 'make a full backup even when an earlier one exists')
    .option('--all', 'back up every connected iPhone that trusts this computer, several at once')
    .option('--parallel <n>', 'with --all: how many iPhones at once (default 2)')
    .option(
      '--verify',
      'verify the whole new backup before calling it complete (slower; an encrypted backup needs its password)',
    )
    .option(
      '--wait <duration>',
      'how long the iPhone may stay silent while it waits for its passcode or prepares (default 60min; e.g. 90s, 2h)',
    )
    .option(
      '--allow-copy',
      'where the disk cannot make hard links (exFAT), keep the last complete backup safe by copying each file the backup replaces or removes',
    );
  addPasswordOption(cmd).action(async (opts: BackupFlags, c: Command) => {
    const waitMs = opts.wait === undefined ? undefined : parseWait(opts.wait);
    if (opts.all) return backupAllCommand(c, { ...opts, ...(waitMs === undefined ? {} : { waitMs }) });
    await withDevice(c, async ({ g, signal, device, progress }) => {
      const root = backupRootsOf(g)[0] as string;
      if (!g.json && !g.quiet) process.stderr.write(`Backing up ${device.udid} to ${root}\n`);
      const result = await withLinkGuard(device, signal, (guarded) =>
        backupDevice(device, {
          root,
          ...(opts.full ? { full: true } : {}),
          ...(opts.allowCopy ? { allowCopy: true } : {}),
          ...(opts.verify ? { verify: true } : {}),
          ...(waitMs === undefined ? {} : { waitMs }),
          unlock: { keyCache: new KeyCache(), ...(opts.verify ? { password: passwordSource(opts) } : {}) },
          signal: guarded,
          onProgress: (p) => progress.update(p),
          onWarning: (m) => progress.note(`Warning: ${m}`),
        }),
      );
      progress.stop();
      if (g.json) printJson(result);
      else process.stdout.write(`${backupText(result)}\n`);
    });
  });
}
