/**
 * Desktop notifications: the command for each system carries the title and text as arguments or
 * environment values (never inside a script), and a system without a notifier is no error.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { notify, notifyCommand } from '../../../src/host/notify.js';

const TITLE = 'iPhone "backed" up';
const TEXT = "it's done; $(rm -rf ~) `x`";

describe('desktop notifications', () => {
  test('Linux: notify-send with the texts after --', () => {
    assert.deepEqual(notifyCommand('linux', TITLE, TEXT), {
      cmd: 'notify-send',
      args: ['--app-name=ibackup', '--', TITLE, TEXT],
    });
  });

  test('macOS: osascript reads the texts from its arguments', () => {
    const c = notifyCommand('darwin', TITLE, TEXT);
    assert.equal(c?.cmd, 'osascript');
    assert.deepEqual(c?.args.slice(-2), [TITLE, TEXT]);
    const script = c?.args.filter((_, i, a) => a[i - 1] === '-e').join('\n') ?? '';
    assert.ok(!script.includes(TITLE) && !script.includes(TEXT));
    assert.match(script, /display notification \(item 2 of argv\) with title \(item 1 of argv\)/);
  });

  test('Windows: a PowerShell toast that takes the texts from the environment', () => {
    const c = notifyCommand('win32', TITLE, TEXT);
    assert.equal(c?.cmd, 'powershell.exe');
    assert.deepEqual(c?.env, { IBACKUP_NOTE_TITLE: TITLE, IBACKUP_NOTE_TEXT: TEXT });
    const script = c?.args.at(-1) ?? '';
    assert.ok(!script.includes(TITLE) && !script.includes(TEXT));
    assert.match(script, /ToastNotificationManager/);
    assert.match(script, /\$env:IBACKUP_NOTE_TITLE/);
  });

  test('no notifier: nothing happens, nothing is thrown', () => {
    assert.equal(notifyCommand('aix', TITLE, TEXT), null);
    assert.doesNotThrow(() => notify(TITLE, TEXT, 'aix'));
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      assert.doesNotThrow(() => notify(TITLE, TEXT, 'linux'));
    } finally {
      process.env.PATH = path;
    }
  });
});
