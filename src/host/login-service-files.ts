/**
 * What runs `ibackup watch` at login, as each system wants it written: a systemd user unit on
 * Linux, a launchd agent (property list) on macOS, a Task Scheduler task (XML) on Windows. Pure
 * text from the command to run; the quoting follows each system's rules (systemd.syntax(7) and
 * systemd.service(5) for ExecStart, launchd.plist(5) ProgramArguments, Windows'
 * CommandLineToArgvW rules for the task's Arguments).
 */
import { serializeXmlPlist } from '../protocol/plist/index.js';

export const SERVICE_NAME = 'ibackup-watch';
export const LAUNCHD_LABEL = 'ibackup.watch';
export const DESCRIPTION = 'ibackup: back up iPhones automatically when they connect';

/** The program and its arguments, absolute paths first. */
export interface ServiceCommand {
  program: string;
  args: string[];
  /** Environment the command needs (USBMUXD_SOCKET_ADDRESS, IBACKUP_BACKUP_DIR…). */
  env?: Record<string, string>;
}

/** One word of an ExecStart= line: double-quoted, with \, " escaped and % and $ doubled. */
export function systemdWord(word: string): string {
  const escaped = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return `"${escaped}"`;
}

/** A value of Environment="K=V", quoted the same way (no newline may pass). */
function systemdEnv(key: string, value: string): string {
  return `Environment=${systemdWord(`${key}=${value.replace(/[\r\n]/g, ' ')}`)}`;
}

/** The systemd user unit (`~/.config/systemd/user/ibackup-watch.service`). */
export function systemdUnit(cmd: ServiceCommand): string {
  const lines = [
    '[Unit]',
    `Description=${DESCRIPTION}`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${[cmd.program, ...cmd.args].map(systemdWord).join(' ')}`,
    ...Object.entries(cmd.env ?? {}).map(([k, v]) => systemdEnv(k, v)),
    'Restart=on-failure',
    'RestartSec=30',
    // A backup is background work: it yields the processor and the disk to the user.
    'Nice=10',
    'IOSchedulingClass=idle',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ];
  return lines.join('\n');
}

/** The launchd agent (`~/Library/LaunchAgents/ibackup.watch.plist`). */
export function launchdPlist(cmd: ServiceCommand, logPath: string): string {
  const bytes = serializeXmlPlist({
    Label: LAUNCHD_LABEL,
    ProgramArguments: [cmd.program, ...cmd.args],
    ...(cmd.env && Object.keys(cmd.env).length > 0 ? { EnvironmentVariables: { ...cmd.env } } : {}),
    RunAtLoad: true,
    // Started again if it stops with an error; a clean stop (logout) is left alone.
    KeepAlive: { SuccessfulExit: false },
    ProcessType: 'Background',
    StandardOutPath: logPath,
    StandardErrorPath: logPath,
  });
  return new TextDecoder().decode(bytes);
}

/** One argument as CommandLineToArgvW reads it back. */
export function windowsArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let slashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      slashes++;
      continue;
    }
    // Backslashes before a quote are doubled, and the quote escaped.
    out += ch === '"' ? '\\'.repeat(slashes * 2 + 1) + '"' : '\\'.repeat(slashes) + ch;
    slashes = 0;
  }
  return `${out}${'\\'.repeat(slashes * 2)}"`;
}

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The Task Scheduler task (registered with `schtasks /Create /XML`): at the user's logon, as that
 * user, without a time limit, on battery too, one instance, restarted after a failure. The
 * environment is not part of a task: `env` goes into the arguments as global options instead.
 */
export function windowsTaskXml(cmd: ServiceCommand, user: string): string {
  const args = cmd.args.map(windowsArg).join(' ');
  return [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    `  <RegistrationInfo><Description>${xmlText(DESCRIPTION)}</Description></RegistrationInfo>`,
    `  <Triggers><LogonTrigger><Enabled>true</Enabled><UserId>${xmlText(user)}</UserId></LogonTrigger></Triggers>`,
    '  <Principals>',
    `    <Principal id="Author"><UserId>${xmlText(user)}</UserId><LogonType>InteractiveToken</LogonType><RunLevel>LeastPrivilege</RunLevel></Principal>`,
    '  </Principals>',
    '  <Settings>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>',
    '    <RestartOnFailure><Interval>PT1M</Interval><Count>3</Count></RestartOnFailure>',
    '    <Enabled>true</Enabled>',
    '  </Settings>',
    '  <Actions Context="Author">',
    `    <Exec><Command>${xmlText(cmd.program)}</Command><Arguments>${xmlText(args)}</Arguments></Exec>`,
    '  </Actions>',
    '</Task>',
    '',
  ].join('\r\n');
}
