/**
 * `ibackup service install|uninstall|status [--parallel N]`: runs `ibackup watch` at login as the
 * user's service (systemd user unit / launchd agent / scheduled task). The service runs this same
 * node and ibackup, with the --backup-dir and --usbmuxd given here.
 */
import { realpathSync } from 'node:fs';
import type { Command } from 'commander';
import {
  installWatchService,
  thisComputer,
  uninstallWatchService,
  watchServiceStatus,
  type ServiceState,
} from '../app/service.js';
import { IbackupError } from '../errors.js';
import { globalsOf } from './globals.js';
import { printJson } from './output.js';
import { parseParallel } from './watch.js';

const KIND_NAMES = { systemd: 'systemd user service', launchd: 'launchd agent', task: 'scheduled task' } as const;

function text(s: ServiceState): string {
  const lines = [
    `ibackup watch as a ${KIND_NAMES[s.kind]}: ${s.installed ? 'installed' : 'not installed'}${s.running === null ? '' : s.running ? ', running' : ', not running'}`,
  ];
  if (s.installed) lines.push(`Defined in: ${s.path}`);
  if (s.note !== undefined) lines.push(`Note: ${s.note}`);
  return lines.join('\n');
}

/** The script this process runs (the installed ibackup's main.js). */
function scriptPath(): string {
  const arg = process.argv[1];
  if (arg === undefined) throw new IbackupError('INTERNAL', { message: 'Cannot tell which ibackup is running.' });
  try {
    return realpathSync(arg);
  } catch {
    return arg;
  }
}

export function registerService(program: Command): void {
  program
    .command('service')
    .description('run "ibackup watch" at login as your service (systemd user unit, launchd agent or scheduled task)')
    .argument('<action>', 'install | uninstall | status')
    .option('--parallel <n>', 'how many iPhones the service backs up at once', '2')
    .action(async (action: string, flags: { parallel?: string }, cmd: Command) => {
      const g = globalsOf(cmd);
      const host = thisComputer();
      let s: ServiceState;
      if (action === 'install') {
        s = await installWatchService(host, {
          node: process.execPath,
          script: scriptPath(),
          parallel: parseParallel(flags.parallel),
          ...(g.backupDir === undefined ? {} : { backupDir: g.backupDir }),
          ...(g.usbmuxd === undefined ? {} : { usbmuxd: g.usbmuxd }),
        });
      } else if (action === 'uninstall') s = await uninstallWatchService(host);
      else if (action === 'status') s = await watchServiceStatus(host);
      else
        throw new IbackupError('USAGE', {
          message: `Unknown service action "${action}".`,
          remedy: 'Use install, uninstall or status.',
        });
      if (g.json) printJson(s);
      else process.stdout.write(`${text(s)}\n`);
    });
}
