/**
 * usbmuxd addresses: `UNIX:/path`, `host:port`, `[v6]:port`, the USBMUXD_SOCKET_ADDRESS variable
 * and the platform default (/var/run/usbmuxd; 127.0.0.1:27015 on Windows).
 */
import { IbackupError } from '../errors.js';

export type SocketAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export const DEFAULT_UNIX_PATH = '/var/run/usbmuxd';
export const DEFAULT_WINDOWS_PORT = 27015;

/** Parses `UNIX:/path` or `host:port` (also `[::1]:port`). A bare path is a usage error. */
export function parseSocketAddress(text: string): SocketAddress {
  const s = text.trim();
  if (/^unix:/i.test(s)) {
    const path = s.slice(5);
    if (path.length === 0) throw usage(text, 'the path after UNIX: is empty');
    return { kind: 'unix', path };
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) {
    const hint = s.startsWith('/') ? ` Write it as UNIX:${s}.` : '';
    throw usage(text, `expected UNIX:/path or host:port.${hint}`);
  }
  const port = Number(m[3]);
  if (port > 65535) throw usage(text, 'the port must be from 0 to 65535');
  return { kind: 'tcp', host: (m[1] ?? m[2]) as string, port };
}

function usage(text: string, why: string): IbackupError {
  return new IbackupError('USAGE', {
    message: `Invalid socket address "${text}": ${why}`,
    remedy: 'Use UNIX:/path/to/socket or host:port, for example UNIX:/var/run/usbmuxd or 127.0.0.1:27015.',
  });
}

/** Formats an address the way USBMUXD_SOCKET_ADDRESS expects it. */
export function formatSocketAddress(addr: SocketAddress): string {
  if (addr.kind === 'unix') return `UNIX:${addr.path}`;
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/** The usbmuxd address to use: explicit option, then USBMUXD_SOCKET_ADDRESS, then the platform default. */
export function resolveUsbmuxdAddress(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): SocketAddress {
  if (explicit !== undefined && explicit !== '') return parseSocketAddress(explicit);
  const fromEnv = env.USBMUXD_SOCKET_ADDRESS;
  if (fromEnv !== undefined && fromEnv !== '') return parseSocketAddress(fromEnv);
  if (platform === 'win32') return { kind: 'tcp', host: '127.0.0.1', port: DEFAULT_WINDOWS_PORT };
  return { kind: 'unix', path: DEFAULT_UNIX_PATH };
}
