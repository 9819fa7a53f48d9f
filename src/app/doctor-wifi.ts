/**
 * The doctor's word on Wi-Fi: which phones usbmuxd lists over the network, and on Linux, that
 * libimobiledevice's usbmuxd discovers none (usbmuxd issue 173), with what works instead. Never a
 * failure: backups over USB work either way.
 */
import type { MuxDeviceInfo } from '../host/usbmux.js';

export interface WifiCheckContext {
  platform: NodeJS.Platform;
  /** The usbmuxd address was given (--usbmuxd / USBMUXD_SOCKET_ADDRESS): it may well list network devices. */
  customAddress: boolean;
  /** What usbmuxd lists (all entries, USB and network). */
  listed: readonly MuxDeviceInfo[];
}

export interface WifiCheck {
  id: 'wifi';
  ok: true;
  message: string;
  remedy: string;
  warning?: boolean;
}

export const LINUX_WIFI_REMEDY =
  'Back up over USB (automatically with "ibackup watch", or "ibackup service install" to run it at login). ' +
  'For Wi-Fi, run a usbmuxd with network support (usbmuxd2 or netmuxd) and give its address with --usbmuxd; ' +
  'macOS and Windows list iPhones over Wi-Fi once "ibackup wifi on" (or Finder / iTunes) turned it on.';

/** The Wi-Fi check, or null when there is nothing to say. */
export function wifiCheck(ctx: WifiCheckContext): WifiCheck | null {
  const network = ctx.listed.filter((d) => d.connection === 'Network');
  if (network.length > 0) {
    const list = [...new Set(network.map((d) => d.udid))].join(', ');
    return { id: 'wifi', ok: true, message: `Listed over Wi-Fi: ${list}.`, remedy: '' };
  }
  if (ctx.platform !== 'linux' || ctx.customAddress) return null;
  return {
    id: 'wifi',
    ok: true,
    warning: true,
    message: "Linux's usbmuxd does not find iPhones over Wi-Fi (it has no network discovery: usbmuxd issue 173).",
    remedy: LINUX_WIFI_REMEDY,
  };
}
