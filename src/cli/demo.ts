/**
 * `ibackup demo`: the whole job against the built-in virtual iPhone — start it in this process,
 * trust this computer, make a full backup, check it with the verification core, and say where
 * it is. Repeat runs use the same virtual iPhone, so they show incremental backups too.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { backupDevice } from '../app/backup.js';
import { openHost } from '../app/context.js';
import { pairDevice } from '../app/pair.js';
import { selectDevice } from '../app/select-device.js';
import { verifyBackup } from '../backup/verify.js';
import { IbackupError } from '../errors.js';
import { backupText } from './backup.js';
import { globalsOf, humanBytes, interruptSignal } from './device-choice.js';
import { printJson } from './output.js';
import { progressRenderer } from './progress.js';

function dataHome(env: NodeJS.ProcessEnv): string {
  return env.XDG_DATA_HOME && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
}

function stateHome(env: NodeJS.ProcessEnv): string {
  return env.XDG_STATE_HOME && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
}

interface DemoOptions {
  profile?: string;
  full?: boolean;
  state?: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('back up the built-in virtual iPhone and verify the backup (no real iPhone needed)')
    .option('--profile <name>', 'tiny, typical or big', 'typical')
    .option('--full', 'force a full backup (the first one always is)')
    .option('--state <dir>', 'where the virtual iPhone keeps its state (default $XDG_STATE_HOME/ibackup/demo-iphone)')
    .action(async (opts: DemoOptions, cmd: Command) => {
      const g = globalsOf(cmd);
      const env = process.env;
      const root = resolve(g.backupDir ?? join(dataHome(env), 'ibackup', 'demo', 'Backup'));
      const stateDir = resolve(opts.state ?? join(stateHome(env), 'ibackup', 'demo-iphone'));
      const say = (s: string): void => {
        if (!g.json && !g.quiet) process.stderr.write(`${s}\n`);
      };
      const { signal, dispose } = interruptSignal();
      say(`Starting a virtual iPhone (${opts.profile ?? 'typical'} profile)…`);
      // Loaded on demand: only the demo and the emulator commands need the virtual iPhone.
      const { Emulator } = await import('../emulator/emulator.js');
      const emulator = await Emulator.start({
        stateDir,
        listen: { kind: 'unix', path: join(stateDir, 'usbmuxd.sock') },
        profile: opts.profile ?? 'typical',
        timeScale: 0.01, // the phone's minute of preparation (iOS 16.1+) takes 0.6 s here
      });
      const progress = progressRenderer({ json: g.json === true, quiet: g.quiet === true });
      try {
        const ctx = openHost({
          usbmuxd: emulator.socketAddress,
          ownDir: join(stateDir, 'host-lockdown'),
          systemDirs: [],
        });
        const device = await selectDevice(ctx, undefined, signal);
        say(`Connected: ${device.udid}. Asking it to trust this computer…`);
        await pairDevice(device, { signal });
        say(`Trusted. Backing up to ${root}`);
        const result = await backupDevice(device, {
          root,
          ...(opts.full ? { full: true } : {}),
          signal,
          onProgress: (p) => progress.update(p),
        });
        progress.stop();
        say('Verifying the backup…');
        const check = await verifyBackup(result.path, { signal });
        if (!check.ok) {
          throw new IbackupError('BACKUP_CORRUPT', {
            message: `The demo backup did not verify: ${check.problems
              .map((p) => p.message)
              .slice(0, 3)
              .join('; ')}`,
            remedy: 'Please report this with the output of this command.',
          });
        }
        const c = check.counts;
        if (g.json) {
          printJson({ backup: result, verify: { ok: check.ok, counts: c, problems: check.problems } });
        } else {
          process.stdout.write(`${backupText(result)}\n`);
          process.stdout.write(
            `Verified:    ${c.rows} Manifest.db rows (${c.files} files, ${c.directories} folders, ${c.symlinks} links), ` +
              `${c.blobsChecked} files present with the right size (${humanBytes(c.blobBytes)}), no problems.\n`,
          );
          process.stdout.write(`Try:         ibackup list --backup-dir "${root}"\n`);
        }
      } finally {
        progress.stop();
        dispose();
        await emulator.close();
      }
    });
}
