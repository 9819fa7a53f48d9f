/** `ibackup devices [--watch]`: connected devices, or hotplug events as they happen. */
import type { Command } from 'commander';
import { listDevices, watchDevices, type DeviceEvent, type DeviceSummary } from '../app/devices.js';
import { NO_DEVICE_REMEDY } from '../app/select-device.js';
import { globalsOf, hostContextOf } from './globals.js';
import { ndjson, printJson } from './output.js';
import { withInterrupt } from './with-device.js';

function row(d: DeviceSummary): string[] {
  return [d.udid, d.name ?? '?', d.model ?? '?', d.iosVersion ?? '?', d.connection, d.paired ? 'yes' : 'no'];
}

/** A plain text table, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

function eventLine(e: DeviceEvent): string {
  const d = e.device;
  const what = [d.name === null ? null : `"${d.name}"`, d.model, d.iosVersion === null ? null : `iOS ${d.iosVersion}`]
    .filter((x) => x !== null)
    .join(', ');
  const trust = e.event === 'detached' ? '' : d.paired ? ' — paired' : ' — not paired';
  return `${e.event}: ${d.udid}${what === '' ? '' : ` (${what})`} [${d.connection}]${trust}`;
}

export function registerDevices(program: Command): void {
  program
    .command('devices')
    .description('list connected devices; --watch prints attach/detach events until Ctrl-C')
    .option('--watch', 'follow devices being plugged in and out (NDJSON on stdout with --json)')
    .action(async (opts: { watch?: boolean }, cmd: Command) => {
      const g = globalsOf(cmd);
      const ctx = hostContextOf(g);
      if (opts.watch) {
        await withInterrupt((signal) =>
          watchDevices(
            ctx,
            (e) => {
              if (g.json) ndjson(process.stdout, e);
              else process.stdout.write(`${eventLine(e)}\n`);
            },
            signal,
          ),
        );
        return;
      }
      const result = await listDevices(ctx);
      if (g.json) {
        printJson(result);
        return;
      }
      if (result.devices.length === 0) {
        process.stdout.write('No iPhone is connected.\n');
        if (!g.quiet) process.stderr.write(`${NO_DEVICE_REMEDY}\n`);
        return;
      }
      process.stdout.write(
        `${table(['UDID', 'NAME', 'MODEL', 'IOS', 'CONNECTION', 'PAIRED'], result.devices.map(row))}\n`,
      );
    });
}
