/**
 * `ibackup service install|uninstall|status`: `ibackup watch` as the user's login service (a
 * systemd user unit, a launchd agent, a scheduled task), started with the same node and ibackup
 * that installed it, and the options that were given (backup folder, usbmuxd address, --parallel).
 */
import { homedir, userInfo } from 'node:os';
import {
  installService,
  runTool,
  serviceStatus,
  uninstallService,
  type ServiceCommand,
  type ServiceHost,
  type ServiceState,
} from '../host/login-service.js';

export type { ServiceState, ServiceHost } from '../host/login-service.js';

export interface WatchCommandOptions {
  /** The node executable and the ibackup script it runs. */
  node: string;
  script: string;
  parallel?: number;
  backupDir?: string;
  usbmuxd?: string;
}

/** The command line of the service: `<node> <ibackup> [--backup-dir D] [--usbmuxd A] watch --parallel N`. */
export function watchCommand(o: WatchCommandOptions): ServiceCommand {
  const globals = [
    ...(o.backupDir === undefined ? [] : ['--backup-dir', o.backupDir]),
    ...(o.usbmuxd === undefined ? [] : ['--usbmuxd', o.usbmuxd]),
  ];
  return { program: o.node, args: [o.script, ...globals, 'watch', '--parallel', String(o.parallel ?? 2)] };
}

/** This computer, for real (tests pass their own). */
export function thisComputer(): ServiceHost {
  return { platform: process.platform, home: homedir(), env: process.env, uid: userInfo().uid, run: runTool };
}

export function installWatchService(host: ServiceHost, o: WatchCommandOptions): Promise<ServiceState> {
  return installService(host, watchCommand(o));
}

export function uninstallWatchService(host: ServiceHost): Promise<ServiceState> {
  return uninstallService(host);
}

export function watchServiceStatus(host: ServiceHost): Promise<ServiceState> {
  return serviceStatus(host);
}
