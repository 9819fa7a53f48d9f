/**
 * `ibackup export contacts|messages|calls|notes|voicemail BACKUP [--out PATH] [--format F]`:
 * readable copies of what a backup holds (CLI.md: `{"kind","items","files","out","warnings"}`),
 * from any backup or version (`--at V`), encrypted ones too (the password rules of CLI.md).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { openBackupView } from '../app/backup-view.js';
import {
  defaultExportOut,
  exportFromBackup,
  exportKinds,
  parseSince,
  type ExportKind,
  type ExportResult,
} from '../app/export.js';
import { resolveBackupArg } from '../app/open-backup.js';
import { KeyCache } from '../app/password.js';
import { AT_OPTION } from './backup-choice.js';
import { backupRootsOf, type GlobalOptions } from './globals.js';
import { printJson } from './output.js';
import { addPasswordOption, passwordSource } from './passwords.js';
import { withWork } from './with-device.js';

interface ExportFlags {
  out?: string;
  format?: string;
  chat?: string;
  since?: string;
  at?: string;
  passwordStdin?: boolean;
  saveKey?: boolean;
}

const WHAT: Record<ExportKind, string> = {
  contacts: 'the address book as vCard 3.0 (.vcf: one file, or one per contact in a folder)',
  messages: 'iMessage and SMS conversations as HTML pages (or --format csv|json), attachments beside them',
  calls: 'the call log as CSV (or --format json)',
  notes: 'notes that are not locked, as HTML (or --format txt); locked notes are listed',
  voicemail: 'voicemail audio files and a CSV list',
};

function say(g: GlobalOptions, r: ExportResult): void {
  if (g.json) {
    printJson(r);
    return;
  }
  if (!g.quiet) for (const w of r.warnings) process.stderr.write(`Warning: ${w.message}\n`);
  const one = r.items === 1;
  const noun: Record<ExportKind, string> = {
    contacts: one ? 'contact' : 'contacts',
    messages: one ? 'message' : 'messages',
    calls: one ? 'call' : 'calls',
    notes: one ? 'note' : 'notes',
    voicemail: one ? 'voicemail message' : 'voicemail messages',
  };
  const files = `${r.files.length} file${r.files.length === 1 ? '' : 's'}`;
  const shown = r.files.length === 0 ? 'nothing was written' : `written to ${r.out}`;
  process.stdout.write(`Exported ${r.items} ${noun[r.kind]} (${r.format}, ${files}): ${shown}.\n`);
}

async function run(kind: ExportKind, backup: string, flags: ExportFlags, cmd: Command): Promise<void> {
  await withWork(cmd, async ({ g, signal, progress }) => {
    const since = flags.since === undefined ? undefined : parseSince(flags.since);
    const dir = await resolveBackupArg(backup, backupRootsOf(g), flags.at);
    const view = await openBackupView(dir, {
      password: passwordSource(flags),
      keyCache: new KeyCache(),
      saveKey: flags.saveKey === true,
    });
    try {
      if (view.savedKeyTo !== undefined && !g.json && !g.quiet)
        process.stderr.write(
          `The key of this backup is saved in ${view.savedKeyTo}: later commands need no password.\n`,
        );
      const r = await exportFromBackup(view, kind, {
        out: path.resolve(flags.out ?? defaultExportOut(kind, flags.format)),
        ...(flags.format === undefined ? {} : { format: flags.format }),
        ...(flags.chat === undefined ? {} : { chat: flags.chat }),
        ...(since === undefined ? {} : { since }),
        signal,
        onProgress: (p) => progress.update(p),
      });
      progress.stop();
      say(g, r);
    } finally {
      view.close();
    }
  });
}

export function registerExport(program: Command): void {
  const exp = program
    .command('export')
    .description('readable copies of what a backup holds: contacts, messages, calls, notes, voicemail');
  for (const kind of exportKinds()) {
    const cmd = exp
      .command(`${kind} <backup>`)
      .description(WHAT[kind])
      .option('--out <path>', `file or folder to write, parents created (default ./${defaultExportOut(kind)})`)
      .option('--format <format>', "output format (default from --out, else the kind's usual one)")
      .option(...AT_OPTION)
      .option('--save-key', 'keep the key derived from the password so later commands need no password');
    if (kind === 'messages')
      cmd.option('--chat <handle>', 'only the conversation with this number, e-mail, name or group');
    if (kind === 'messages' || kind === 'calls' || kind === 'voicemail')
      cmd.option('--since <date>', 'only from this date (YYYY-MM-DD, local time)');
    addPasswordOption(cmd).action((backup: string, flags: ExportFlags, c: Command) => run(kind, backup, flags, c));
  }
}
