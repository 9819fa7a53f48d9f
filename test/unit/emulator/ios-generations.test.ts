/**
 * The virtual iPhone's per-generation rules (ios-generations.ts), the passcode prompt's reasons
 * and time scale, and the time scale as a profile value, an emulator option and a CLI option.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ctlRequest, parseTimeScale } from '../../../src/cli/emulator.js';
import { isIbackupError } from '../../../src/errors.js';
import {
  DEFAULT_PASSCODE_TIMEOUT_SECONDS,
  backupAsksForPasscode,
  defaultPreparationSeconds,
  deviceLinkMajor,
  keepsSnapshotOfInterruptedRun,
  passwordChangeAsksForPasscode,
  scaledMs,
} from '../../../src/emulator/ios-generations.js';
import { askForPasscode, asksForPasscode } from '../../../src/emulator/passcode.js';
import { builtInProfile, resolveProfile, validateProfileOverrides } from '../../../src/emulator/profile.js';

function usage(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isIbackupError(e) && e.code === 'USAGE' && pattern.test(e.message));
}

describe('per-generation rules', () => {
  test('DeviceLink version: 300 up to 13.x, 400 from 14.0', () => {
    for (const v of ['5.1', '12.5.7', '13.7']) assert.equal(deviceLinkMajor(v), 300, v);
    for (const v of ['14.0', '16.1.1', '26.0']) assert.equal(deviceLinkMajor(v), 400, v);
  });

  test('the Backup passcode from 16.1, the password-change passcode from 13.0', () => {
    for (const v of ['15.8', '16.0', '16.0.3']) assert.equal(backupAsksForPasscode(v), false, v);
    for (const v of ['16.1', '17.5.1', '18.0', '26.0']) assert.equal(backupAsksForPasscode(v), true, v);
    for (const v of ['9.3.5', '12.5.7']) assert.equal(passwordChangeAsksForPasscode(v), false, v);
    for (const v of ['13.0', '15.8', '16.0', '17.5.1']) assert.equal(passwordChangeAsksForPasscode(v), true, v);
    assert.equal(asksForPasscode('15.0', 'password-change'), true);
    assert.equal(asksForPasscode('15.0'), false);
  });

  test('3 minutes of prompt, 60 s of preparation from 16.1 (none before), iOS 15 keeps an interrupted snapshot', () => {
    assert.equal(DEFAULT_PASSCODE_TIMEOUT_SECONDS, 180);
    assert.equal(builtInProfile('tiny').behaviour.passcodeTimeoutSeconds, 180);
    assert.equal(defaultPreparationSeconds('16.0'), 0);
    assert.equal(defaultPreparationSeconds('16.1'), 60);
    assert.equal(defaultPreparationSeconds('26.0'), 60);
    for (const v of ['15.0', '15.2', '15.8']) assert.equal(keepsSnapshotOfInterruptedRun(v), true, v);
    for (const v of ['14.8', '16.0', '17.5.1']) assert.equal(keepsSnapshotOfInterruptedRun(v), false, v);
  });

  test('a time scale multiplies seconds into milliseconds', () => {
    assert.equal(scaledMs(60, 1), 60_000);
    assert.equal(scaledMs(60, 0.001), 60);
    assert.equal(scaledMs(-1, 1), 0);
  });
});

describe('the passcode prompt under a time scale', () => {
  test("the timeout and the owner's delay are both scaled", async () => {
    const posted: string[] = [];
    const base = { productVersion: '17.5.1', timeScale: 0.01, post: (n: string) => posted.push(n) };
    let started = Date.now();
    assert.equal(
      await askForPasscode(
        { ...base, behaviour: () => ({ mode: 'after', seconds: 20 }), timeoutSeconds: 180 },
        new AbortController().signal,
      ),
      true,
    );
    const typed = Date.now() - started;
    assert.ok(typed >= 190 && typed < 1_500, `typed after ${typed} ms`);
    started = Date.now();
    assert.equal(
      await askForPasscode(
        { ...base, behaviour: () => ({ mode: 'never' }), timeoutSeconds: 30 },
        new AbortController().signal,
      ),
      false,
    );
    const waited = Date.now() - started;
    assert.ok(waited >= 290 && waited < 1_500, `timed out after ${waited} ms`);
  });

  test('a password change asks from iOS 13, a backup does not before 16.1', async () => {
    const posted: string[] = [];
    const p = {
      productVersion: '14.8',
      behaviour: () => ({ mode: 'enter' as const }),
      timeoutSeconds: 1,
      post: (n: string) => posted.push(n),
    };
    await askForPasscode(p, new AbortController().signal);
    assert.deepEqual(posted, []);
    await askForPasscode({ ...p, reason: 'password-change' }, new AbortController().signal);
    assert.equal(posted.length, 2);
  });
});

describe('the time scale as a setting', () => {
  test('profile: timeScale above 0 and preparationSeconds are checked', () => {
    validateProfileOverrides({ behaviour: { timeScale: 0.001, preparationSeconds: 300 } }, 'x.json');
    usage(() => validateProfileOverrides({ behaviour: { timeScale: 0 } }, 'x.json'), /behaviour\.timeScale/);
    usage(() => validateProfileOverrides({ behaviour: { timeScale: '0.1' } }, 'x.json'), /behaviour\.timeScale/);
    usage(
      () => validateProfileOverrides({ behaviour: { preparationSeconds: -1 } }, 'x.json'),
      /behaviour\.preparationSeconds/,
    );
  });

  test('default 1; a profile sets it; the emulator option replaces it', async () => {
    assert.equal((await resolveProfile({ profile: 'tiny' })).behaviour.timeScale, 1);
    assert.equal((await resolveProfile({ profile: { behaviour: { timeScale: 0.5 } } })).behaviour.timeScale, 0.5);
    assert.equal(
      (await resolveProfile({ profile: { behaviour: { timeScale: 0.5 } }, timeScale: 0.01 })).behaviour.timeScale,
      0.01,
    );
    await assert.rejects(resolveProfile({ timeScale: -2 }), (e: unknown) => isIbackupError(e) && e.code === 'USAGE');
  });

  test('--time-scale and the new ctl actions', () => {
    assert.equal(parseTimeScale('0.01'), 0.01);
    for (const bad of ['0', '-1', 'fast', '', '1e9']) usage(() => parseTimeScale(bad), /--time-scale/);
    for (const action of ['cancel', 'lock', 'unlock', 'restart']) {
      assert.deepEqual(ctlRequest(action, ['U1']), { Action: action, UDID: 'U1' });
      usage(() => ctlRequest(action, []), new RegExp(`${action} UDID`));
    }
  });
});
