/** `ibackup doctor`: what stands between this computer and a backup, and what to do about it. */
import type { Command } from 'commander';
import pc from 'picocolors';
import { runDoctor, type DoctorCheck } from '../app/doctor.js';
import { backupRootsOf, globalsOf, hostContextOf } from './globals.js';
import { EXIT_FAILED, printJson } from './output.js';
import { withInterrupt } from './with-device.js';

function checkText(c: DoctorCheck): string {
  const mark = !c.ok ? pc.red('✖') : c.warning ? pc.yellow('!') : pc.green('✔');
  const head = `${mark} ${c.id}: ${c.message}`;
  return c.remedy === '' ? head : `${head}\n    → ${c.remedy}`;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('diagnose "device not detected", trust, lock and disk-space problems and say what to do')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalsOf(cmd);
      const ctx = hostContextOf(g);
      const custom = g.usbmuxd !== undefined || (process.env.USBMUXD_SOCKET_ADDRESS ?? '') !== '';
      const r = await withInterrupt((signal) =>
        runDoctor(ctx, {
          backupRoots: backupRootsOf(g),
          customAddress: custom,
          signal,
          ...(g.udid === undefined ? {} : { udid: g.udid }),
        }),
      );
      if (g.json) printJson({ ok: r.ok, checks: r.checks });
      else {
        process.stdout.write(`${r.checks.map(checkText).join('\n')}\n`);
        process.stdout.write(
          r.ok ? 'No problem found.\n' : 'Fix the problems marked ✖, then run "ibackup doctor" again.\n',
        );
      }
      if (!r.ok) process.exitCode = EXIT_FAILED;
    });
}
