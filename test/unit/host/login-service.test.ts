/**
 * The login service of `ibackup watch`: the systemd user unit passes the real
 * `systemd-analyze verify` (system mode: --user needs a running manager) and runs the right
 * command with awkward paths quoted; the launchd plist and the Task Scheduler XML parse and name
 * the right command; install, status and uninstall write and remove the files and call the
 * system's tools as expected (recorded, not run).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { watchCommand } from '../../../src/app/service.js';
import {
  installService,
  serviceStatus,
  uninstallService,
  type ServiceHost,
  type ToolResult,
} from '../../../src/host/login-service.js';
import { launchdPlist, systemdUnit, windowsArg, windowsTaskXml } from '../../../src/host/login-service-files.js';
import { parsePlist } from '../../../src/protocol/plist/index.js';

const AWKWARD = '/opt/my "ibackup" 100%/$HOME\\dist/cli/main.js';

function verify(path: string): Promise<{ code: number; out: string }> {
  return new Promise((done) =>
    execFile('systemd-analyze', ['verify', path], { encoding: 'utf8' }, (err, stdout, stderr) =>
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 127, out: stdout + stderr }),
    ),
  );
}

/** Splits an ExecStart= value as systemd does (double quotes, \\ escapes, %% and $$). */
function execWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    words.push((m[1] as string).replace(/\\(.)/g, '$1').replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return words;
}

/** CommandLineToArgvW's reading of a command line (the parts this module writes). */
function argv(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let word = '';
    let quoted = false;
    for (; i < line.length && (quoted || line[i] !== ' '); i++) {
      let slashes = 0;
      while (line[i] === '\\') {
        slashes++;
        i++;
      }
      if (line[i] === '"') {
        word += '\\'.repeat(Math.floor(slashes / 2));
        if (slashes % 2 === 1) word += '"';
        else quoted = !quoted;
      } else {
        word += '\\'.repeat(slashes);
        if (i < line.length) word += line[i];
        else break;
      }
    }
    out.push(word);
  }
  return out;
}

function recordingHost(home: string, platform: NodeJS.Platform, answers: Record<string, ToolResult> = {}) {
  const calls: string[] = [];
  const host: ServiceHost = {
    platform,
    home,
    env: {
      XDG_CONFIG_HOME: join(home, '.config'),
      LOCALAPPDATA: join(home, 'Local'),
      USERNAME: 'ann',
      USERDOMAIN: 'PC',
    },
    uid: 501,
    run: async (cmd, args) => {
      const line = [cmd, ...args].join(' ');
      calls.push(line);
      const key = Object.keys(answers).find((k) => line.startsWith(k));
      return key === undefined
        ? { code: 1, stdout: '', stderr: 'Failed to connect to bus' }
        : (answers[key] as ToolResult);
    },
  };
  return { host, calls };
}

describe('login service', () => {
  test('systemd unit: passes systemd-analyze verify and runs watch with its paths quoted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ibackup-unit-'));
    try {
      const cmd = watchCommand({
        node: process.execPath,
        script: AWKWARD,
        parallel: 3,
        backupDir: '/srv/iPhone backups',
      });
      const unit = systemdUnit(cmd);
      const path = join(dir, 'ibackup-watch.service');
      await writeFile(path, unit);
      const r = await verify(path);
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out.includes('ibackup-watch'), false, `no complaint about the unit: ${r.out}`);
      const exec = unit.split('\n').find((l) => l.startsWith('ExecStart=')) as string;
      assert.deepEqual(execWords(exec.slice('ExecStart='.length)), [
        process.execPath,
        AWKWARD,
        '--backup-dir',
        '/srv/iPhone backups',
        'watch',
        '--parallel',
        '3',
      ]);
      assert.match(unit, /^WantedBy=default\.target$/m);
      // A unit that is wrong fails the same check (so the check can fail).
      await writeFile(
        path,
        unit.replace('Type=simple', 'Type=bogus').replace(`"${process.execPath}"`, '"relative/node"'),
      );
      assert.notEqual((await verify(path)).code, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('launchd agent: a property list that runs watch at load and again after a failure', () => {
    const cmd = watchCommand({ node: '/usr/local/bin/node', script: AWKWARD, usbmuxd: 'UNIX:/tmp/mux.sock' });
    const plist = parsePlist(new TextEncoder().encode(launchdPlist(cmd, '/Users/ann/Library/Logs/ibackup/watch.log')));
    assert.deepEqual(plist, {
      Label: 'ibackup.watch',
      ProgramArguments: ['/usr/local/bin/node', AWKWARD, '--usbmuxd', 'UNIX:/tmp/mux.sock', 'watch', '--parallel', '2'],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ProcessType: 'Background',
      StandardOutPath: '/Users/ann/Library/Logs/ibackup/watch.log',
      StandardErrorPath: '/Users/ann/Library/Logs/ibackup/watch.log',
    });
  });

  test('scheduled task: valid Task Scheduler XML, at logon, the command and its arguments read back', () => {
    const script = 'C:\\Program Files\\ibackup\\dist\\cli\\main.js';
    const cmd = watchCommand({ node: 'C:\\Program Files\\nodejs\\node.exe', script, backupDir: 'D:\\Backups\\"x"\\' });
    const xml = windowsTaskXml(cmd, 'PC\\ann & co');
    assert.equal(XMLValidator.validate(xml), true);
    const task = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(xml).Task;
    assert.equal(task['@_xmlns'], 'http://schemas.microsoft.com/windows/2004/02/mit/task');
    assert.equal(task.Triggers.LogonTrigger.UserId, 'PC\\ann & co');
    assert.equal(task.Principals.Principal.LogonType, 'InteractiveToken');
    assert.equal(task.Settings.ExecutionTimeLimit, 'PT0S');
    assert.equal(task.Settings.MultipleInstancesPolicy, 'IgnoreNew');
    assert.equal(task.Actions.Exec.Command, 'C:\\Program Files\\nodejs\\node.exe');
    assert.deepEqual(argv(task.Actions.Exec.Arguments), [
      script,
      '--backup-dir',
      'D:\\Backups\\"x"\\',
      'watch',
      '--parallel',
      '2',
    ]);
    for (const a of ['plain', 'two words', 'a"b', 'c:\\dir\\', '\\\\server\\"q"', ''])
      assert.deepEqual(argv(windowsArg(a)), [a], a);
  });

  test('install, status, uninstall on Linux: the unit, its default.target.wants link, systemctl --user', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ibackup-home-'));
    try {
      const { host, calls } = recordingHost(home, 'linux', {
        'systemctl --user daemon-reload': { code: 0, stdout: '', stderr: '' },
      });
      const cmd = watchCommand({ node: process.execPath, script: '/opt/ibackup/dist/cli/main.js' });
      const s = await installService(host, cmd);
      const unit = join(home, '.config', 'systemd', 'user', 'ibackup-watch.service');
      assert.deepEqual(
        { ...s, note: s.note !== undefined },
        {
          kind: 'systemd',
          path: unit,
          installed: true,
          running: null,
          note: true,
        },
      );
      assert.equal(await readFile(unit, 'utf8'), systemdUnit(cmd));
      const link = join(home, '.config', 'systemd', 'user', 'default.target.wants', 'ibackup-watch.service');
      assert.equal(await readlink(link), unit);
      assert.deepEqual(calls.slice(0, 2), [
        'systemctl --user daemon-reload',
        'systemctl --user restart ibackup-watch.service',
      ]);
      const gone = await uninstallService(host);
      assert.deepEqual([gone.installed, gone.running], [false, false]);
      await assert.rejects(lstat(link));
      await assert.rejects(lstat(unit));
      assert.ok(calls.includes('systemctl --user stop ibackup-watch.service'));
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  test('install on macOS and Windows: launchctl bootstrap gui/UID; schtasks /Create /XML in UTF-16', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ibackup-home-'));
    try {
      const ok = { code: 0, stdout: 'Status: Running', stderr: '' };
      const mac = recordingHost(home, 'darwin', { 'launchctl bootstrap': ok, 'launchctl print': ok });
      const s = await installService(mac.host, watchCommand({ node: '/usr/local/bin/node', script: '/x/main.js' }));
      assert.deepEqual([s.installed, s.running, s.note], [true, true, undefined]);
      assert.ok(mac.calls.includes(`launchctl bootstrap gui/501 ${s.path}`));
      assert.equal((await serviceStatus(mac.host)).installed, true);
      const win = recordingHost(home, 'win32', { 'schtasks /Create': ok, 'schtasks /Run': ok, 'schtasks /Query': ok });
      const t = await installService(win.host, watchCommand({ node: 'C:\\node.exe', script: 'C:\\x\\main.js' }));
      assert.deepEqual([t.kind, t.installed, t.running], ['task', true, true]);
      const bytes = await readFile(t.path);
      assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xfe]);
      assert.equal(XMLValidator.validate(bytes.subarray(2).toString('utf16le')), true);
      assert.ok(win.calls.includes(`schtasks /Create /TN ibackup-watch /XML ${t.path} /F`));
      const failing = recordingHost(home, 'win32', {});
      await assert.rejects(installService(failing.host, watchCommand({ node: 'C:\\node.exe', script: 'C:\\m.js' })));
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
