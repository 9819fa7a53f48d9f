/**
 * Where backup passwords come from (CLI.md "Passwords"), never the command line:
 * `--password-stdin` (line 1 = the password the command needs; line 2 = the new one when the
 * command also needs a new one), then IBACKUP_PASSWORD (and IBACKUP_NEW_PASSWORD), then a no-echo
 * prompt on a terminal (typed twice when setting one), else PASSWORD_REQUIRED. Passwords are
 * never printed, logged or written anywhere.
 */
import type { Command } from 'commander';
import { IbackupError } from '../errors.js';

export const PASSWORD_ENV = 'IBACKUP_PASSWORD';
export const NEW_PASSWORD_ENV = 'IBACKUP_NEW_PASSWORD';
/** More than any password needs; stdin beyond this is not read. */
const MAX_STDIN_BYTES = 64 * 1024;

export interface PasswordFlags {
  /** `--password-stdin`. */
  passwordStdin?: boolean;
}

export interface PasswordIo {
  env?: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** A terminal to prompt on (default: stdin and stderr are both terminals). */
  interactive?: boolean;
  /** Asks without echo (default: @inquirer/password on stderr). */
  prompt?: (message: string) => Promise<string>;
}

export interface ReadPasswordsOptions {
  /** The command also needs a new password (`encryption change`): returned as `newPassword`. */
  needNew?: boolean;
  /** Prompt twice for the password being set (the new one, or the only one for `encryption on`). */
  confirm?: boolean;
  /** How the prompt names the password the command needs (default "Backup password"). */
  label?: string;
  io?: PasswordIo;
}

export interface Passwords {
  password: string;
  newPassword?: string;
}

/** Adds `--password-stdin` to a command. */
export function addPasswordOption(cmd: Command): Command {
  return cmd.option('--password-stdin', 'read the backup password from the first line of standard input');
}

function required(message: string): IbackupError {
  return new IbackupError('PASSWORD_REQUIRED', { message });
}

/** The first `n` lines of a stream (without their line ends), reading no more than needed. */
export async function readStdinLines(stream: NodeJS.ReadableStream, n: number): Promise<string[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  const done = (): boolean => {
    const text = Buffer.concat(chunks).toString('utf8');
    return text.split('\n').length > n || size >= MAX_STDIN_BYTES;
  };
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer | string): void => {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      chunks.push(b);
      size += b.length;
      if (done()) finish();
    };
    const finish = (): void => {
      stream.off('data', onData);
      stream.off('end', finish);
      stream.off('error', onError);
      stream.pause();
      resolve();
    };
    const onError = (err: unknown): void => {
      stream.off('data', onData);
      stream.off('end', finish);
      reject(err);
    };
    stream.on('data', onData);
    stream.once('end', finish);
    stream.once('error', onError);
    stream.resume();
  });
  const lines = Buffer.concat(chunks).subarray(0, MAX_STDIN_BYTES).toString('utf8').split('\n');
  return lines.slice(0, n).map((l) => l.replace(/\r$/, ''));
}

async function defaultPrompt(message: string): Promise<string> {
  // Loaded only when a password is typed (it costs every command's start-up otherwise).
  const { default: inquirerPassword } = await import('@inquirer/password');
  return inquirerPassword({ message }, { output: process.stderr }).catch((err: unknown) => {
    const name = err instanceof Error ? err.name : '';
    if (name === 'ExitPromptError' || name === 'AbortPromptError')
      throw new IbackupError('CANCELLED', { message: 'No password was typed.' });
    throw err;
  });
}

async function askNew(ask: (m: string) => Promise<string>, label: string, confirm: boolean): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const first = await ask(`${label}:`);
    if (first === '') throw required('An empty password cannot be used.');
    if (!confirm) return first;
    const again = await ask(`${label} (again):`);
    if (again === first) return first;
    process.stderr.write('The two passwords are not the same; type them again.\n');
  }
  throw required('The password was not typed the same way twice.');
}

/**
 * The password(s) a command needs (see the module comment). Call it only once a password is
 * really needed, so commands on plain backups never ask.
 */
export async function readPasswords(g: PasswordFlags, options: ReadPasswordsOptions = {}): Promise<Passwords> {
  const io = options.io ?? {};
  const env = io.env ?? process.env;
  const needNew = options.needNew === true;
  const label = options.label ?? 'Backup password';
  if (g.passwordStdin === true) {
    const stdin = io.stdin ?? process.stdin;
    const lines = await readStdinLines(stdin, needNew ? 2 : 1);
    const password = lines[0] ?? '';
    if (password === '') throw required('--password-stdin was given but the first line of standard input is empty.');
    if (!needNew) return { password };
    const newPassword = lines[1] ?? '';
    if (newPassword === '')
      throw required('--password-stdin needs the new password on the second line of standard input.');
    return { password, newPassword };
  }
  const interactive = io.interactive ?? (process.stdin.isTTY === true && process.stderr.isTTY === true);
  const ask = io.prompt ?? defaultPrompt;
  const fromEnv = env[PASSWORD_ENV];
  let password: string;
  if (fromEnv !== undefined && fromEnv !== '') password = fromEnv;
  else if (interactive)
    password = needNew ? await askNew(ask, label, false) : await askNew(ask, label, options.confirm === true);
  else {
    throw required(`A backup password is needed, and there is no terminal to ask for it (nor ${PASSWORD_ENV}).`);
  }
  if (!needNew) return { password };
  const newFromEnv = env[NEW_PASSWORD_ENV];
  if (newFromEnv !== undefined && newFromEnv !== '') return { password, newPassword: newFromEnv };
  if (!interactive)
    throw required(
      `A new backup password is needed: give it on line 2 with --password-stdin, or in ${NEW_PASSWORD_ENV}.`,
    );
  return { password, newPassword: await askNew(ask, 'New backup password', options.confirm !== false) };
}

/** A lazy source of the one password a command needs: read at most once, when first asked. */
export function passwordSource(g: PasswordFlags, options: ReadPasswordsOptions = {}): () => Promise<string> {
  let pending: Promise<string> | undefined;
  return () => {
    pending ??= readPasswords(g, options).then((p) => p.password);
    return pending;
  };
}
