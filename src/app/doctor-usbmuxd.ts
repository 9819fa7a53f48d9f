/**
 * What to tell a user whose usbmuxd does not answer: how to install or start it on this OS
 * (Linux distribution, macOS, Windows), or how to fix a custom address.
 */

export interface UsbmuxdHintContext {
  platform: NodeJS.Platform;
  /** Contents of /etc/os-release ('' when unknown). */
  osRelease: string;
  /** Whether a usbmuxd program is installed (Linux). */
  installed: boolean;
  /** The address came from --usbmuxd or USBMUXD_SOCKET_ADDRESS instead of the default. */
  customAddress: boolean;
  /** The address as text. */
  address: string;
}

type Family = 'debian' | 'fedora' | 'arch' | 'suse' | 'alpine' | 'gentoo' | 'unknown';

/** The distribution family from /etc/os-release (ID and ID_LIKE). */
export function linuxFamily(osRelease: string): Family {
  const field = (name: string): string[] => {
    const m = new RegExp(`^${name}=(.*)$`, 'm').exec(osRelease);
    return m ? (m[1] ?? '').replace(/["']/g, '').toLowerCase().split(/\s+/) : [];
  };
  const ids = [...field('ID'), ...field('ID_LIKE')];
  const has = (...names: string[]): boolean => names.some((n) => ids.includes(n));
  if (has('debian', 'ubuntu', 'raspbian', 'linuxmint', 'pop')) return 'debian';
  if (has('fedora', 'rhel', 'centos', 'rocky', 'almalinux')) return 'fedora';
  if (has('arch', 'manjaro', 'endeavouros')) return 'arch';
  if (has('opensuse', 'suse', 'sles', 'opensuse-leap', 'opensuse-tumbleweed')) return 'suse';
  if (has('alpine')) return 'alpine';
  if (has('gentoo')) return 'gentoo';
  return 'unknown';
}

const INSTALL: Record<Family, string> = {
  debian: 'sudo apt install usbmuxd',
  fedora: 'sudo dnf install usbmuxd',
  arch: 'sudo pacman -S usbmuxd',
  suse: 'sudo zypper install usbmuxd',
  alpine: 'sudo apk add usbmuxd',
  gentoo: 'sudo emerge app-pda/usbmuxd',
  unknown: 'install the "usbmuxd" package with your package manager',
};

const START =
  'start it with "sudo systemctl start usbmuxd" (it also starts by itself when an iPhone is plugged in), or run "sudo usbmuxd -f" in a terminal and leave it running';

/** The message and remedy of a failed usbmuxd check. */
export function usbmuxdAdvice(ctx: UsbmuxdHintContext): { message: string; remedy: string } {
  if (ctx.customAddress) {
    return {
      message: `Nothing answers at ${ctx.address} (set by --usbmuxd or USBMUXD_SOCKET_ADDRESS).`,
      remedy:
        'Check the address, start the usbmuxd (or "ibackup emulator start") that should listen there, or drop the option to use the system usbmuxd.',
    };
  }
  if (ctx.platform === 'darwin') {
    return {
      message: `usbmuxd (built into macOS) does not answer at ${ctx.address}.`,
      remedy: 'Restart the Mac; if that does not help, run "sudo launchctl kickstart -k system/com.apple.usbmuxd".',
    };
  }
  if (ctx.platform === 'win32') {
    return {
      message: `The Apple Mobile Device Service does not answer at ${ctx.address}.`,
      remedy:
        'Install the Apple Devices app (Microsoft Store) or iTunes, open it once, and make sure the "Apple Mobile Device Service" is running (services.msc).',
    };
  }
  if (ctx.installed) {
    return {
      message: `usbmuxd is installed but not running (nothing answers at ${ctx.address}).`,
      remedy: `As root, ${START}.`,
    };
  }
  const family = linuxFamily(ctx.osRelease);
  return {
    message: `usbmuxd, the service that talks to iPhones over USB, is not installed (nothing answers at ${ctx.address}).`,
    remedy: `Install it (${INSTALL[family]}), then ${START}.`,
  };
}
