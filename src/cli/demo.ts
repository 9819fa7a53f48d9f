/**
 * `ibackup demo`: the whole job against the built-in virtual iPhone — start it in this process,
 * trust this computer, make a full backup, check it with the verification core, and say where
 * it is. Repeat runs use the same virtual iPhone, so they show incremental backups too.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { backupDevice, type BackupResult } from '../app/backup.js';
import { openHost } from '../app/context.js';
import { verifyDemoBackup, type VerifyResult } from '../app/demo-verify.js';
import { formatBytes } from '../app/format-bytes.js';
import { pairDevice } from '../app/pair.js';
import { selectDevice } from '../app/select-device.js';
import type { Emulator } from '../emulator/emulator.js';
import { IbackupError } from '../errors.js';
import { backupText } from './backup.js';
import { globalsOf, sayer, type GlobalOptions } from './globals.js';
import { printJson } from './output.js';
import { progressRenderer } from './progress.js';
import { withInterrupt } from './with-device.js';
import { dataHome, stateHome } from './xdg.js';

interface DemoOptions {
  profile?: string;
  full?: boolean;
  state?: string;
}

/** Where the demo's backups and its virtual iPhone live. */
interface DemoPlaces {
  root: string;
  stateDir: string;
}

async function startVirtualIphone(stateDir: string, profile: string): Promise<Emulator> {
  // Loaded on demand: only the demo and the emulator commands need the virtual iPhone.
  const { Emulator } = await import('../emulator/emulator.js');
  return Emulator.start({
    stateDir,
    listen: { kind: 'unix', path: join(stateDir, 'usbmuxd.sock') },
    profile,
    timeScale: 0.01, // the phone's minute of preparation (iOS 16.1+) takes 0.6 s here
  });
}

/** Pairs with the virtual iPhone and backs it up to `root`. */
async function pairAndBackUp(
  emulator: Emulator,
  at: DemoPlaces,
  opts: DemoOptions,
  g: GlobalOptions,
  signal: AbortSignal,
): Promise<BackupResult> {
  const say = sayer(g);
  const progress = progressRenderer({ json: g.json === true, quiet: g.quiet === true });
  try {
    const ctx = openHost({
      usbmuxd: emulator.socketAddress,
      ownDir: join(at.stateDir, 'host-lockdown'),
      systemDirs: [],
    });
    const device = await selectDevice(ctx, undefined, signal);
    say(`Connected: ${device.udid}. Asking it to trust this computer…`);
    await pairDevice(device, { signal });
    say(`Trusted. Backing up to ${at.root}`);
    return await backupDevice(device, {
      root: at.root,
      ...(opts.full ? { full: true } : {}),
      signal,
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.stop();
  }
}

/** The verification core's verdict; BACKUP_CORRUPT when the demo backup does not verify. */
async function checkDemoBackup(path: string, signal: AbortSignal): Promise<VerifyResult> {
  const check = await verifyDemoBackup(path, signal);
  if (!check.ok) {
    throw new IbackupError('BACKUP_CORRUPT', {
      message: `The demo backup did not verify: ${check.problems
        .map((p) => p.message)
        .slice(0, 3)
        .join('; ')}`,
      remedy: 'Please report this with the output of this command.',
    });
  }
  return check;
}

function printDemo(g: GlobalOptions, result: BackupResult, check: VerifyResult, root: string): void {
  const c = check.counts;
  if (g.json) {
    printJson({ backup: result, verify: { ok: check.ok, counts: c, problems: check.problems } });
    return;
  }
  process.stdout.write(`${backupText(result)}\n`);
  process.stdout.write(
    `Verified:    ${c.rows} Manifest.db rows (${c.files} files, ${c.directories} folders, ${c.symlinks} links), ` +
      `${c.blobsChecked} files present (${formatBytes(c.blobBytes)}), no problems` +
      (c.warnings > 0
        ? ` (${c.warnings} warning${c.warnings === 1 ? '' : 's'}: the file${c.warnings === 1 ? '' : 's'} the iPhone could not read).\n`
        : '.\n'),
  );
  process.stdout.write(`Try:         ibackup list --backup-dir "${root}"\n`);
}

async function runDemo(opts: DemoOptions, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const at: DemoPlaces = {
    root: resolve(g.backupDir ?? join(dataHome(), 'ibackup', 'demo', 'Backup')),
    stateDir: resolve(opts.state ?? join(stateHome(), 'ibackup', 'demo-iphone')),
  };
  const say = sayer(g);
  await withInterrupt(async (signal) => {
    say(`Starting a virtual iPhone (${opts.profile ?? 'typical'} profile)…`);
    const emulator = await startVirtualIphone(at.stateDir, opts.profile ?? 'typical');
    try {
      const result = await pairAndBackUp(emulator, at, opts, g, signal);
      say('Verifying the backup…');
      printDemo(g, result, await checkDemoBackup(result.path, signal), at.root);
    } finally {
      await emulator.close();
    }
  });
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('back up the built-in virtual iPhone and verify the backup (no real iPhone needed)')
    .option('--profile <name>', 'tiny, typical or big', 'typical')
    .option('--full', 'force a full backup (the first one always is)')
    .option('--state <dir>', 'where the virtual iPhone keeps its state (default $XDG_STATE_HOME/ibackup/demo-iphone)')
    .action(runDemo);
}
