/** `ibackup encryption status|on|off|change`: "Encrypt local backup". Passwords never in argv. */
import type { Command } from 'commander';
import { changeEncryption, encryptionStatus, type EncryptionAction, type EncryptionStatus } from '../app/encryption.js';
import { backupRootsOf, sayer } from './globals.js';
import { printJson } from './output.js';
import { addPasswordOption, readPasswords, type PasswordFlags, type Passwords } from './passwords.js';
import { withDevice, type DeviceRun } from './with-device.js';

function statusText(s: EncryptionStatus): string {
  return `Encrypt local backup: ${s.encryption ? 'on' : 'off'} (${s.udid})`;
}

export function registerEncryption(program: Command): void {
  const enc = program
    .command('encryption')
    .description('"Encrypt local backup": status, or set, change or remove the backup password');

  enc
    .command('status')
    .description('whether backups of this iPhone are encrypted')
    .action(async (_o: unknown, cmd: Command) => {
      await withDevice(cmd, async ({ g, signal, device }) => {
        const s = await encryptionStatus(device, signal);
        if (g.json) printJson(s);
        else process.stdout.write(`${statusText(s)}\n`);
      });
    });

  for (const action of ['on', 'off', 'change'] as const) {
    const what = {
      on: 'turn encryption on: set a backup password',
      off: 'turn encryption off (needs the current password)',
      change: 'change the backup password (current, then new)',
    }[action];
    addPasswordOption(enc.command(action).description(what)).action(async (o: PasswordFlags, cmd: Command) => {
      await withDevice(cmd, (r) => run(action, o, r));
    });
  }
}

/** Asks for the password(s) the action needs and tells how strong a new one is. */
async function askPasswords(
  action: EncryptionAction,
  o: PasswordFlags,
  say: (line: string) => void,
): Promise<Passwords> {
  // Loaded here: the strength checker's dictionaries take a while, and only this command needs them.
  const { PASSWORD_ADVICE, passwordStrength } = await import('../app/password-strength.js');
  if (action !== 'off') say(PASSWORD_ADVICE);
  const pw = await readPasswords(o, {
    needNew: action === 'change',
    confirm: action !== 'off',
    label: action === 'on' ? 'New backup password' : 'Current backup password',
  });
  const fresh = action === 'on' ? pw.password : pw.newPassword;
  if (fresh !== undefined) {
    const s = passwordStrength(fresh);
    say(`Password strength: ${s.label} (${s.score}/4)${s.warning ? ` — ${s.warning}` : ''}`);
    for (const tip of s.suggestions) say(`  ${tip}`);
  }
  return pw;
}

async function run(action: EncryptionAction, o: PasswordFlags, { g, signal, device }: DeviceRun): Promise<void> {
  const say = sayer(g);
  const pw = await askPasswords(action, o, say);
  say('If the iPhone asks for its passcode, enter it on the iPhone.');
  const result = await changeEncryption(device, action, {
    root: backupRootsOf(g)[0] as string,
    password: pw.password,
    ...(pw.newPassword === undefined ? {} : { newPassword: pw.newPassword }),
    signal,
    onPasscodePrompt: (shown) => {
      if (shown) say('Enter your iPhone passcode on the iPhone to allow the change.');
    },
  });
  if (g.json) printJson(result);
  else process.stdout.write(`${action === 'change' ? 'Backup password changed. ' : ''}${statusText(result)}\n`);
}
