/** `ibackup info`: the device's General tab — name, model, iOS, capacity, encryption, last backup. */
import type { Command } from 'commander';
import { deviceInfo, type DeviceInfo } from '../app/info.js';
import { formatBytes } from '../app/format-bytes.js';
import { photosStatus } from '../app/photos-status.js';
import { backupRootsOf } from './globals.js';
import { printJson } from './output.js';
import { photosStatusText } from './photos-text.js';
import { withDevice } from './with-device.js';

/** "February 17, 2026 at 2:30 PM" in the user's locale, as Finder words it. */
function when(iso: string | null): string {
  if (iso === null) return 'never (no backup of this iPhone in the backup folder)';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
}

export function infoText(i: DeviceInfo): string {
  const lines: [string, string][] = [
    ['Name', i.name],
    ['Model', i.productType === '' || i.model === i.productType ? i.model : `${i.model} (${i.productType})`],
    ['iOS', i.buildVersion === null ? i.iosVersion : `${i.iosVersion} (${i.buildVersion})`],
    ['Serial Number', i.serial ?? 'unknown'],
    ['UDID', i.udid],
    ['Capacity', formatBytes(i.capacityBytes)],
    ['Used', formatBytes(i.usedBytes)],
    ['Encrypt local backup', i.encryption ? 'on' : 'off'],
    ['Last Backup', when(i.lastBackup)],
    ...(i.history === null
      ? []
      : ([
          [
            'Versions',
            `${i.history.versions} kept since ${when(i.history.oldest)}, ${formatBytes(i.history.bytes)} in all ("ibackup history")`,
          ],
        ] as [string, string][])),
  ];
  const w = Math.max(...lines.map(([k]) => k.length)) + 1;
  return lines.map(([k, v]) => `${`${k}:`.padEnd(w)} ${v}`).join('\n');
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('device name, model, iOS, serial, capacity and used space, encryption, last backup on this computer')
    .action(async (_opts: unknown, cmd: Command) => {
      await withDevice(cmd, async ({ g, signal, device }) => {
        const info = await deviceInfo(device, { backupRoots: backupRootsOf(g), signal });
        // The photo library and what computer backups leave out of it (null when it cannot be read).
        const photos = await photosStatus(device, { backupRoots: backupRootsOf(g), signal }).catch(() => null);
        if (g.json) printJson({ ...info, photos });
        else process.stdout.write(`${infoText(info)}\n${photos === null ? '' : `${photosStatusText(photos)}\n`}`);
      });
    });
}
