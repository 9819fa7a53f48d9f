/**
 * `ibackup auto on|off|status [--every 24h]`: "Back up automatically when this iPhone is
 * connected" for `watch`, per phone (-u, else the one connected); on by default, once a day.
 */
import type { Command } from 'commander';
import { autoStatus, openAutoPolicy, parseEvery, setAuto, type AutoStatus } from '../app/auto.js';
import { findDevice } from '../app/select-device.js';
import { watchStatus } from '../app/watch-service.js';
import { IbackupError } from '../errors.js';
import { backupRootsOf, globalsOf, hostContextOf, type GlobalOptions } from './globals.js';
import { printJson } from './output.js';

/** A UDID as given (the phone need not be connected), else the connected phone chosen by -u / the only one. */
async function targetUdid(g: GlobalOptions): Promise<string> {
  const u = g.udid?.trim();
  if (u !== undefined && /^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{16}$|^[0-9A-Fa-f]{40}$/.test(u)) return u;
  return (await findDevice(hostContextOf(g), u)).udid;
}

function statusText(s: AutoStatus, watching: boolean): string {
  const lines = [
    `${s.udid}: automatic backup ${s.auto ? `on (when connected, once the last backup is ${s.every} old)` : 'off'}`,
    `Last backup: ${s.lastBackup === null ? 'never' : new Date(s.lastBackup).toLocaleString()}`,
  ];
  if (s.auto) {
    lines.push(
      `Next backup: ${s.nextBackupAfter === null ? 'when connected' : `when connected after ${new Date(s.nextBackupAfter).toLocaleString()}`}`,
    );
    if (!watching) lines.push('Note: no "ibackup watch" is running (start one, or "ibackup service install").');
  }
  return lines.join('\n');
}

export function registerAuto(program: Command): void {
  program
    .command('auto')
    .description('back up this iPhone automatically when it connects (used by "ibackup watch"): on, off or status')
    .argument('<action>', 'on | off | status')
    .option('--every <period>', 'back up when the last backup is older than this (e.g. 24h, 12h, 7d)')
    .action(async (action: string, flags: { every?: string }, cmd: Command) => {
      if (action !== 'on' && action !== 'off' && action !== 'status') {
        throw new IbackupError('USAGE', {
          message: `Unknown auto action "${action}".`,
          remedy: 'Use on, off or status.',
        });
      }
      const g = globalsOf(cmd);
      const everyMs = flags.every === undefined ? undefined : parseEvery(flags.every);
      const udid = await targetUdid(g);
      const store = openAutoPolicy();
      const roots = backupRootsOf(g);
      const s =
        action === 'status'
          ? await autoStatus(store, roots, udid)
          : await setAuto(store, roots, udid, action === 'on', everyMs);
      const watching = (await watchStatus()) !== null;
      if (g.json) printJson({ ...s, watching });
      else process.stdout.write(`${statusText(s, watching)}\n`);
    });
}
