/**
 * `ibackup wifi on|off|status`: "Show this iPhone when on Wi-Fi" ({"udid","wifi":bool}). The
 * phone must be reachable (USB, or already over Wi-Fi); the pairing is the same either way.
 */
import type { Command } from 'commander';
import { setWifi, wifiStatus, type WifiStatus } from '../app/wifi.js';
import { IbackupError } from '../errors.js';
import { printJson } from './output.js';
import { withDevice } from './with-device.js';

/** What a user of Linux's usbmuxd needs to know (it lists no network devices). */
export const LINUX_WIFI_NOTE =
  "Note: Linux's usbmuxd does not list iPhones over Wi-Fi; ibackup backs the phone up over Wi-Fi where usbmuxd lists it (Apple's, on macOS and Windows, or a usbmuxd with network support such as usbmuxd2 or netmuxd).";

function text(s: WifiStatus): string {
  return `${s.udid}: Show this iPhone when on Wi-Fi: ${s.wifi ? 'on' : 'off'} (reached over ${s.connection === 'USB' ? 'USB' : 'Wi-Fi'} now)`;
}

export function registerWifi(program: Command): void {
  program
    .command('wifi')
    .description(
      '"Show this iPhone when on Wi-Fi": lets this computer back the iPhone up over Wi-Fi (on, off or status)',
    )
    .argument('<action>', 'on | off | status')
    .action(async (action: string, _flags: unknown, cmd: Command) => {
      if (action !== 'on' && action !== 'off' && action !== 'status') {
        throw new IbackupError('USAGE', {
          message: `Unknown wifi action "${action}".`,
          remedy: 'Use on, off or status.',
        });
      }
      await withDevice(cmd, async ({ g, signal, device, progress }) => {
        progress.stop();
        const s =
          action === 'status' ? await wifiStatus(device, signal) : await setWifi(device, action === 'on', signal);
        if (g.json) printJson({ udid: s.udid, wifi: s.wifi, connection: s.connection });
        else {
          process.stdout.write(`${text(s)}\n`);
          if (s.wifi && process.platform === 'linux' && !g.quiet) process.stderr.write(`${LINUX_WIFI_NOTE}\n`);
        }
      });
    });
}
