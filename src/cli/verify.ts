/** `ibackup verify [BACKUP]`: checks a backup on disk and says whether it can be restored; exit 1 when not. */
import type { Command } from 'commander';
import pc from 'picocolors';
import { KeyCache } from '../app/password.js';
import { formatBytes } from '../app/format-bytes.js';
import { verifyBackupAt, type VerifyProblem, type VerifyReport } from '../app/verify.js';
import { AT_OPTION, backupDirOf } from './backup-choice.js';
import { versionPasswordNote, withVersionPassword } from '../app/history.js';
import { EXIT_FAILED, printJson } from './output.js';
import { addPasswordOption, passwordSource } from './passwords.js';
import { withWork } from './with-device.js';

interface VerifyFlags {
  passwordStdin?: boolean;
  saveKey?: boolean;
  decrypt?: boolean;
  at?: string;
}

const SHOWN_PER_CODE = 10;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function problemLines(problems: readonly VerifyProblem[]): string[] {
  const byCode = new Map<string, VerifyProblem[]>();
  for (const p of problems) byCode.set(p.code, [...(byCode.get(p.code) ?? []), p]);
  const out: string[] = [];
  for (const [code, list] of byCode) {
    const first = list[0] as VerifyProblem;
    const mark = first.severity === 'error' ? pc.red('✖') : pc.yellow('!');
    out.push('', `${mark} ${code} (${list.length}): ${first.meaning}`);
    for (const p of list.slice(0, SHOWN_PER_CODE)) out.push(`    ${p.message}`);
    if (list.length > SHOWN_PER_CODE) out.push(`    … and ${list.length - SHOWN_PER_CODE} more (--json lists them)`);
  }
  return out;
}

/** "Index:" — the entries of Manifest.db or Manifest.mbdb by kind. */
function indexLine(r: VerifyReport): string {
  const c = r.counts;
  if (c.rows === 0) return 'none could be read';
  const what =
    r.format === 'mbdb'
      ? plural(c.rows, 'Manifest.mbdb record') + ' (iOS 9 and earlier format)'
      : plural(c.rows, 'Manifest.db row');
  const other = c.otherRows > 0 ? `, ${plural(c.otherRows, 'other entry', 'other entries')}` : '';
  return `${what}: ${plural(c.files, 'file')}, ${plural(c.directories, 'folder')}, ${plural(c.symlinks, 'link')}${other}`;
}

/** "Files:" — expected = present + missing, then what was checked of the present ones. */
function filesLine(r: VerifyReport): string {
  const c = r.counts;
  if (c.filesExpected === 0) return 'none to check';
  const missing = c.filesMissing === 0 ? 'none missing' : `${c.filesMissing} missing`;
  const damaged = c.filesDamaged > 0 ? `, ${c.filesDamaged} of them damaged` : '';
  const checks = [
    ...(c.digestsChecked > 0 ? [`${plural(c.digestsChecked, 'checksum')} compared`] : []),
    ...(r.encrypted ? [`${c.filesDecrypted} decrypted`] : []),
  ];
  return `${c.filesExpected} expected: ${c.filesPresent} present (${formatBytes(c.blobBytes)}${damaged}), ${missing}${checks.length > 0 ? `; ${checks.join(', ')}` : ''}`;
}

export function verifyText(r: VerifyReport): string {
  const c = r.counts;
  const when =
    r.date === null
      ? ''
      : `, backed up ${new Date(r.date).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`;
  const device = [r.device.name, r.device.iosVersion === null ? null : `iOS ${r.device.iosVersion}`]
    .filter((x) => x !== null)
    .join(', ');
  const keyNote = r.keySource === 'cache' ? ' (saved key)' : '';
  const enc = !r.encrypted ? 'no' : r.passwordChecked ? `yes — the password opens it${keyNote}` : 'yes — not checked';
  const lines = [
    `Backup:    ${r.path}${device === '' ? '' : ` (${device}${when})`}`,
    `Encrypted: ${enc}`,
    `Index:     ${indexLine(r)}`,
    `Files:     ${filesLine(r)}`,
  ];
  if (r.ok) {
    const extra = c.warnings > 0 ? ` (${plural(c.warnings, 'warning')})` : '';
    lines.push(`Result:    ${pc.green('OK')} — this backup can be restored${extra}.`);
  } else {
    lines.push(
      `Result:    ${pc.red('NOT RESTORABLE')} — ${plural(c.errors, 'error')}, ${plural(c.warnings, 'warning')}.`,
    );
  }
  lines.push(...problemLines(r.problems));
  if (c.problemsOmitted > 0) lines.push('', `(${c.problemsOmitted} more problems were counted but not listed.)`);
  if (r.savedKeyTo !== undefined)
    lines.push('', `The key of this backup is saved in ${r.savedKeyTo}: later commands need no password.`);
  if (!r.ok) lines.push('', 'Make a new backup with "ibackup backup" before relying on this one.');
  return lines.join('\n');
}

export function registerVerify(program: Command): void {
  const cmd = program
    .command('verify [backup]')
    .description(
      'check a backup on disk: structure, every file present with the right size, decryptable with the password; exit 1 when it cannot be restored',
    )
    .option(
      '--save-key',
      "keep the key derived from the password (in ibackup's own folder) so later commands need no password",
    )
    .option('--no-decrypt', 'do not decrypt every file of an encrypted backup (faster; the password is still checked)')
    .option(...AT_OPTION);
  addPasswordOption(cmd).action(async (backup: string | undefined, opts: VerifyFlags, command: Command) => {
    await withWork(command, async ({ g, signal, progress }) => {
      const dir = await backupDirOf(g, backup, signal, opts.at);
      if (!g.json && !g.quiet) process.stderr.write(`Verifying ${dir}\n`);
      const note = await versionPasswordNote(dir);
      if (note !== undefined && !g.json && !g.quiet) process.stderr.write(`${note}\n`);
      const report = await withVersionPassword(dir, () =>
        verifyBackupAt(dir, {
          password: passwordSource(opts),
          keyCache: new KeyCache(),
          saveKey: opts.saveKey === true,
          decrypt: opts.decrypt !== false,
          signal,
          onProgress: (p) =>
            progress.update({
              phase: 'verifying',
              percent: p.filesTotal === 0 ? 100 : Math.floor((p.filesDone * 100) / p.filesTotal),
              bytesDone: p.bytesDone,
              filesDone: p.filesDone,
              filesTotal: p.filesTotal,
            }),
        }),
      );
      progress.stop();
      if (g.json) printJson(report);
      else process.stdout.write(`${verifyText(report)}\n`);
      if (!report.ok) process.exitCode = EXIT_FAILED;
    });
  });
}
