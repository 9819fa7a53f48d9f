/** `ibackup password check BACKUP`: says whether a password opens an encrypted backup; exit 1 when not. */
import type { Command } from 'commander';
import { KeyCache } from '../app/password.js';
import { resolveBackupArg } from '../app/open-backup.js';
import { versionPasswordNote, withVersionPassword } from '../app/history.js';
import { AT_OPTION } from './backup-choice.js';
import { checkBackupPassword } from '../app/password.js';
import { backupRootsOf, globalsOf } from './globals.js';
import { printJson } from './output.js';
import { addPasswordOption, passwordSource } from './passwords.js';

interface CheckFlags {
  passwordStdin?: boolean;
  saveKey?: boolean;
  at?: string;
}

export function registerPassword(program: Command): void {
  const group = program.command('password').description('backup passwords');
  const check = group
    .command('check <backup>')
    .description('say whether a password opens an encrypted backup (exit 1 when it does not)')
    .option(
      '--save-key',
      "when it does, keep the derived key (in ibackup's own folder) so later commands need no password",
    )
    .option(...AT_OPTION);
  addPasswordOption(check).action(async (backup: string, flags: CheckFlags, cmd: Command) => {
    const g = globalsOf(cmd);
    const dir = await resolveBackupArg(backup, backupRootsOf(g), flags.at);
    // A wrong password throws WRONG_PASSWORD (exit 1) with the way out.
    const r = await withVersionPassword(dir, () =>
      checkBackupPassword(dir, {
        password: passwordSource(flags),
        keyCache: new KeyCache(),
        saveKey: flags.saveKey === true,
      }),
    );
    const note = await versionPasswordNote(dir);
    if (g.json) {
      printJson({ path: dir, ...r, ...(note === undefined ? {} : { earlierPassword: true, note }) });
      return;
    }
    if (note !== undefined) process.stdout.write(`${note}\n`);
    if (!r.encrypted) {
      process.stdout.write('This backup is not encrypted: it has no password.\n');
      return;
    }
    process.stdout.write('The password is correct.\n');
    if (r.savedTo !== undefined)
      process.stdout.write(`The key of this backup is saved in ${r.savedTo}: later commands need no password.\n`);
  });
}
