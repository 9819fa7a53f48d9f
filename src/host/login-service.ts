/**
 * Installing, removing and looking at the login service that runs `ibackup watch`: a systemd user
 * unit (enabled as `systemctl --user enable` does, with the default.target.wants link, then
 * started when a user manager answers), a launchd agent (`launchctl bootstrap gui/UID`), or a Task
 * Scheduler task (`schtasks /Create /XML`). Files are written to a temporary name and renamed.
 * The system tools are run through an injectable runner, and a tool that is missing or refuses
 * (no user manager in a container) leaves the service installed for the next login, said so.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  LAUNCHD_LABEL,
  SERVICE_NAME,
  launchdPlist,
  systemdUnit,
  windowsTaskXml,
  type ServiceCommand,
} from './login-service-files.js';

export type { ServiceCommand } from './login-service-files.js';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ServiceHost {
  platform: NodeJS.Platform;
  home: string;
  env: NodeJS.ProcessEnv;
  /** The user id (launchd's gui/UID domain). */
  uid: number;
  /** Runs a system tool; never rejects. */
  run: (cmd: string, args: string[]) => Promise<ToolResult>;
}

export type ServiceKind = 'systemd' | 'launchd' | 'task';

export interface ServiceState {
  kind: ServiceKind;
  /** The file that defines it. */
  path: string;
  installed: boolean;
  /** Running now; null when the system's tool could not say. */
  running: boolean | null;
  /** What the system's tool said, when it did not do what was asked. */
  note?: string;
}

export function runTool(cmd: string, args: string[]): Promise<ToolResult> {
  return new Promise((done) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 30_000, windowsHide: true }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 127;
      done({ code, stdout, stderr: stderr || (err && code === 127 ? err.message : '') });
    });
  });
}

export function serviceKind(platform: NodeJS.Platform): ServiceKind {
  return platform === 'darwin' ? 'launchd' : platform === 'win32' ? 'task' : 'systemd';
}

/** Where the definition lives. */
export function servicePath(h: Pick<ServiceHost, 'platform' | 'home' | 'env'>): string {
  switch (serviceKind(h.platform)) {
    case 'launchd':
      return join(h.home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    case 'task':
      return join(h.env.LOCALAPPDATA ?? join(h.home, 'AppData', 'Local'), 'ibackup', `${SERVICE_NAME}.xml`);
    default: {
      const config =
        h.env.XDG_CONFIG_HOME !== undefined && h.env.XDG_CONFIG_HOME !== ''
          ? h.env.XDG_CONFIG_HOME
          : join(h.home, '.config');
      return join(config, 'systemd', 'user', `${SERVICE_NAME}.service`);
    }
  }
}

async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode: 0o644 });
  await rename(tmp, path);
}

function noteOf(r: ToolResult, what: string): string | undefined {
  if (r.code === 0) return undefined;
  const said = (r.stderr || r.stdout).trim().split('\n')[0] ?? '';
  return `${what} did not succeed${said === '' ? '' : ` (${said})`}; the service starts at the next login.`;
}

async function installSystemd(h: ServiceHost, cmd: ServiceCommand, path: string): Promise<string | undefined> {
  await writeAtomic(path, systemdUnit(cmd));
  // What `systemctl --user enable` does for WantedBy=default.target.
  const wants = join(dirname(path), 'default.target.wants', `${SERVICE_NAME}.service`);
  await mkdir(dirname(wants), { recursive: true });
  await rm(wants, { force: true });
  await symlink(path, wants);
  await h.run('systemctl', ['--user', 'daemon-reload']);
  return noteOf(await h.run('systemctl', ['--user', 'restart', `${SERVICE_NAME}.service`]), 'systemctl --user restart');
}

async function installLaunchd(h: ServiceHost, cmd: ServiceCommand, path: string): Promise<string | undefined> {
  const log = join(h.home, 'Library', 'Logs', 'ibackup', 'watch.log');
  await mkdir(dirname(log), { recursive: true });
  await h.run('launchctl', ['bootout', `gui/${h.uid}/${LAUNCHD_LABEL}`]);
  await writeAtomic(path, launchdPlist(cmd, log));
  return noteOf(await h.run('launchctl', ['bootstrap', `gui/${h.uid}`, path]), 'launchctl bootstrap');
}

async function installTask(h: ServiceHost, cmd: ServiceCommand, path: string): Promise<string | undefined> {
  const user = `${h.env.USERDOMAIN ?? ''}${h.env.USERDOMAIN ? '\\' : ''}${h.env.USERNAME ?? ''}`;
  // schtasks reads the XML as UTF-16 (little-endian, with its byte order mark).
  await writeAtomic(
    path,
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(windowsTaskXml(cmd, user), 'utf16le')]),
  );
  const created = await h.run('schtasks', ['/Create', '/TN', SERVICE_NAME, '/XML', path, '/F']);
  if (created.code !== 0) throw new Error((created.stderr || created.stdout).trim() || 'schtasks /Create failed');
  return noteOf(await h.run('schtasks', ['/Run', '/TN', SERVICE_NAME]), 'schtasks /Run');
}

/** Writes the definition, enables it and starts it where the system allows. */
export async function installService(h: ServiceHost, cmd: ServiceCommand): Promise<ServiceState> {
  const path = servicePath(h);
  const kind = serviceKind(h.platform);
  const note =
    kind === 'launchd'
      ? await installLaunchd(h, cmd, path)
      : kind === 'task'
        ? await installTask(h, cmd, path)
        : await installSystemd(h, cmd, path);
  const state = await serviceStatus(h);
  return note === undefined ? state : { ...state, note };
}

/** Stops and removes the service (nothing to do when it is not installed). */
export async function uninstallService(h: ServiceHost): Promise<ServiceState> {
  const path = servicePath(h);
  switch (serviceKind(h.platform)) {
    case 'launchd':
      await h.run('launchctl', ['bootout', `gui/${h.uid}/${LAUNCHD_LABEL}`]);
      break;
    case 'task':
      await h.run('schtasks', ['/Delete', '/TN', SERVICE_NAME, '/F']);
      break;
    default:
      await h.run('systemctl', ['--user', 'stop', `${SERVICE_NAME}.service`]);
      await rm(join(dirname(path), 'default.target.wants', `${SERVICE_NAME}.service`), { force: true });
  }
  await rm(path, { force: true });
  if (serviceKind(h.platform) === 'systemd') await h.run('systemctl', ['--user', 'daemon-reload']);
  return serviceStatus(h);
}

/** Whether the service is installed and running. */
export async function serviceStatus(h: ServiceHost): Promise<ServiceState> {
  const path = servicePath(h);
  const kind = serviceKind(h.platform);
  const installed = await readFile(path).then(
    () => true,
    () => false,
  );
  let running: boolean | null = null;
  if (kind === 'systemd') {
    const r = await h.run('systemctl', ['--user', 'is-active', `${SERVICE_NAME}.service`]);
    const said = r.stdout.trim();
    running = said === 'active' ? true : said === 'inactive' || said === 'failed' ? false : null;
  } else if (kind === 'launchd') {
    running = (await h.run('launchctl', ['print', `gui/${h.uid}/${LAUNCHD_LABEL}`])).code === 0 ? true : null;
  } else {
    const r = await h.run('schtasks', ['/Query', '/TN', SERVICE_NAME, '/FO', 'LIST']);
    running = r.code === 0 ? /Running/i.test(r.stdout) : null;
  }
  return { kind, path, installed, running: installed ? running : false };
}
