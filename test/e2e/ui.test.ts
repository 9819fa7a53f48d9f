/**
 * The web app in a real browser (Chromium via playwright-core) against an in-process virtual
 * iPhone and an in-process server: a device appears when plugged in, the Trust flow, turning on
 * encryption, Back Up Now with live progress, Manage Backups (verify, archive, delete), Restore,
 * a full disk, and the token. Each state is saved as test-artifacts/e2e/<name>.png.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseFault } from '../../src/emulator/faults.js';
import type { VirtualDevice } from '../../src/emulator/device.js';
import { startUiServer, type UiServer } from '../../src/web/server.js';
import type { BackupsResponse } from '../../src/web/api.js';
import { startBench, type Bench } from '../support/bench.js';
import { attributes, browserSkip, launchBrowser, sameSet, shot, until, watchProgress } from '../support/browser.js';

const PASSWORD = 'correct horse battery 7';
/**
 * The tiny phone with fast key derivation and an owner who leaves "Trust This Computer?" on
 * screen; its 4 MB spread over 600 files, so that the phone reports progress after each of
 * several upload batches (128 files each).
 */
const PROFILE = {
  extends: 'tiny' as const,
  identity: { deviceName: 'Alex’s iPhone' },
  // The test emulator runs the phone's delays at a thousandth: a prompt up for 1.5 s is 1 500 modelled seconds.
  behaviour: {
    keyDerivationIterations: 1000,
    trust: { mode: 'pending' as const, seconds: 600 },
    passcodeTimeoutSeconds: 3600,
  },
  content: { files: 600 },
};
const T = 10_000;

const skip = browserSkip();

describe('ibackup ui in Chromium', { skip, timeout: 150_000 }, () => {
  let bench: Bench;
  let server: UiServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let phone: VirtualDevice;
  const serverLog: string[] = [];
  const pageErrors: string[] = [];

  const testid = (id: string) => page.getByTestId(id);
  /** GET /api/backups with the page's cookie. */
  const backupsNow = async (): Promise<BackupsResponse> =>
    (await (
      await context.request.get(new URL('/api/backups', server.url).href, { timeout: T })
    ).json()) as BackupsResponse;
  /** Closes whatever dialog a failed test left open (Escape, as a person would). */
  const closeDialogs = async (): Promise<void> => {
    for (let i = 0; i < 3 && (await page.locator('dialog[open]').count()) > 0; i++) await page.keyboard.press('Escape');
  };

  before(async () => {
    bench = await startBench({ devices: 0, profile: PROFILE });
    server = await startUiServer({
      ctx: bench.ctx,
      backupDirs: [bench.backupDir],
      log: (l) => serverLog.push(l),
      trustTimeoutMs: 60_000,
    });
    browser = await launchBrowser();
    context = await browser.newContext({
      viewport: { width: 1100, height: 760 },
      locale: 'en-GB',
      timezoneId: 'UTC',
    });
    page = await context.newPage();
    page.setDefaultTimeout(T);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Refused requests (a wrong password: 422) are logged by the browser too; they are expected.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() === 404) pageErrors.push(`404 for ${r.url()}`);
    });
    await page.goto(server.url, { timeout: T });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await bench?.dispose().catch(() => undefined);
  });

  test('a request without the token is refused; the page, opened with it, is let in', { timeout: T }, async () => {
    const api = new URL('/api/devices', server.url);
    const r = await fetch(api, { signal: AbortSignal.timeout(T) });
    assert.equal(r.status, 401);
    const body = (await r.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'UNAUTHORIZED');
    // A browser without the cookie is refused too; the token left the address bar.
    const stranger = await browser.newContext();
    const r2 = await stranger.request.get(api.href, { timeout: T });
    assert.equal(r2.status(), 401);
    await stranger.close();
    assert.equal(new URL(page.url()).search, '');
  });

  test('no iPhone: the page says to connect one', { timeout: T }, async () => {
    await testid('no-device').waitFor();
    assert.match(await testid('no-device').innerText(), /Connect your iPhone with a USB cable/);
    await shot(page, 'no-device');
  });

  test('a plugged-in iPhone appears; Trust: pending, locked, denied, then trusted', { timeout: 40_000 }, async () => {
    phone = await bench.te.emu.attach();
    const item = page.locator(`[data-testid="device-item"][data-udid="${phone.udid}"]`);
    await item.waitFor();
    const panel = testid('trust-panel');
    await page.locator('[data-testid="trust-panel"][data-state="pending"]').waitFor();
    assert.match(await panel.innerText(), /Unlock your iPhone and tap Trust/);
    // Back Up Now is there, disabled, with the reason.
    assert.equal(await testid('backup-now').isDisabled(), true);
    assert.notEqual((await testid('backup-blocked').innerText()).trim(), '');
    await shot(page, 'trust-pending');

    phone.setTrust({ mode: 'locked' });
    await page.locator('[data-testid="trust-panel"][data-state="locked"]').waitFor();
    assert.match(await panel.innerText(), /Unlock your iPhone/);
    await shot(page, 'trust-locked');

    phone.setTrust({ mode: 'deny' });
    await page.locator('[data-testid="trust-panel"][data-state="denied"]').waitFor();
    await shot(page, 'trust-denied');
    phone.setTrust({ mode: 'accept' });
    await testid('trust-button').click();
    await page.locator(`[data-testid="device-page"][data-trust="trusted"]`).waitFor({ timeout: 15_000 });
    await testid('capacity-bar').waitFor();
    assert.equal(await panel.count(), 0);
    assert.match(await item.innerText(), new RegExp(phone.deviceName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await page.locator('[data-testid="backup-now"]:not([disabled])').waitFor();
    await shot(page, 'trusted');
  });

  test(
    'Encrypt local backup: the password dialog checks the match and shows the strength',
    { timeout: 30_000 },
    async () => {
      await closeDialogs();
      await testid('encrypt-checkbox').click();
      const dialog = testid('password-dialog');
      await dialog.waitFor();
      await testid('password-new').fill(PASSWORD);
      await testid('password-verify').fill(`${PASSWORD}x`);
      await page.locator('[data-testid="password-match"][data-match="no"]').waitFor();
      assert.equal(await testid('password-submit').isDisabled(), true);
      await testid('password-verify').fill(PASSWORD);
      await page.locator('[data-testid="password-match"][data-match="yes"]').waitFor();
      await testid('password-strength').waitFor();
      assert.notEqual((await testid('password-advice').innerText()).trim(), '');
      await shot(page, 'password-dialog');
      await testid('password-submit').click();
      await dialog.waitFor({ state: 'detached', timeout: 20_000 });
      await page.locator('[data-testid="encrypt-checkbox"]:checked').waitFor();
      // Enabled once the change's job is over (the box may show the new state a moment before).
      await page.locator('[data-testid="change-password"]:enabled').waitFor();
      // Said, with the backup that makes it real offered.
      await page.locator('[data-testid="encryption-done"][data-mode="on"]').waitFor();
      await testid('encryption-backup-now').waitFor();
    },
  );

  test(
    'Back Up Now on a slow link: progress on the page, then Last backup shows the new date',
    { timeout: 40_000 },
    async () => {
      await closeDialogs();
      assert.equal(await testid('last-backup').getAttribute('data-date'), '');
      assert.match(await testid('last-backup').innerText(), /Never/);
      phone.runtime!.faults.set(parseFault('throttle', { mbps: 8 })); // about 1 MB/s: a few seconds
      await testid('backup-now').click();
      await page.locator('[data-testid="job-status"][data-state="running"][data-kind="backup"]').waitFor();
      await page.locator('[data-testid="job-progress"][aria-valuenow]').waitFor({ timeout: 15_000 });
      await shot(page, 'backup-progress');
      const { percents, state } = await watchProgress(page, 30_000, 'backup-progress-mid');
      assert.equal(state, 'done', `the backup ended ${state}: ${serverLog.join('\n')}`);
      assert.ok(percents.length >= 3, `distinct percentages on the page: ${percents.join(', ')}`);
      await page.locator('[data-testid="last-backup"] time').waitFor();
      const date = await testid('last-backup').getAttribute('data-date');
      assert.ok(date !== null && !Number.isNaN(Date.parse(date)), `Last backup: ${date}`);
      assert.ok(Date.now() - Date.parse(date) < 120_000, `Last backup ${date} is today's backup`);
      assert.equal(await page.locator('[data-testid="last-backup"] time').getAttribute('datetime'), date);
      await shot(page, 'backup-done');
    },
  );

  test('Manage Backups lists the backup and Verify (with the password) passes', { timeout: 30_000 }, async () => {
    await closeDialogs();
    await testid('manage-backups').first().click();
    await testid('backups-dialog').waitFor();
    const row = page.locator(`[data-testid="backup-row"][data-udid="${phone.udid}"]`).first();
    await row.waitFor();
    await row.getByTestId('backup-encrypted').waitFor();
    await row.getByTestId('path-button').click();
    const path = await row.getByTestId('backup-path').inputValue();
    assert.ok(path.startsWith(bench.backupDir), path);
    await row.getByTestId('verify-button').click();
    await testid('prompt-password').fill(PASSWORD);
    await testid('prompt-submit').click();
    await row.locator('[data-testid="verify-result"]').waitFor({ timeout: 20_000 });
    assert.equal(
      await row.getByTestId('verify-result').getAttribute('data-ok'),
      'yes',
      await row.getByTestId('verify-result').innerText(),
    );
    await shot(page, 'manage-backups');
    await testid('backups-close').click();
    await testid('backups-dialog').waitFor({ state: 'detached' });
  });

  test('a full disk on the computer: the backup fails and the page says what to do', { timeout: 30_000 }, async () => {
    await closeDialogs();
    phone.runtime!.faults.set(parseFault('host-full'));
    await page.locator('[data-testid="backup-now"]:not([disabled])').click();
    await page
      .locator('[data-testid="job-status"][data-state="failed"][data-kind="backup"]')
      .waitFor({ timeout: 20_000 });
    const error = testid('job-error');
    assert.equal(await error.getAttribute('data-code'), 'DISK_FULL');
    assert.notEqual((await error.locator('.error-remedy').innerText()).trim(), '');
    await shot(page, 'disk-full');
  });

  test(
    'Restore Backup… with the password: a wrong one is refused, the right one restores',
    { timeout: 60_000 },
    async () => {
      await closeDialogs();
      // The server's list once the failed backup has ended: its kept complete copy, not the
      // unfinished folder; the dialog offers exactly those (after the page's `backups` event).
      const listed = await backupsNow();
      const complete = listed.backups.filter((b) => b.complete && b.udid === phone.udid).map((b) => b.path);
      assert.ok(complete.length > 0, JSON.stringify(listed.backups));
      await page.locator('[data-testid="restore-backup"]:not([disabled])').click();
      await testid('restore-dialog').waitFor();
      await until(
        async () => sameSet(await attributes(testid('restore-option'), 'data-path'), complete),
        'the dialog lists the complete backups',
      );
      await page.locator(`[data-testid="restore-option"][data-path="${complete[0]}"] input`).check();
      await testid('restore-password').fill('not the password');
      await testid('restore-submit').click();
      await testid('restore-error').waitFor({ timeout: 20_000 });
      assert.notEqual((await testid('restore-error').locator('.error-remedy').innerText()).trim(), '');
      assert.equal(await testid('restore-password').inputValue(), '', 'the password is not kept after its request');
      await shot(page, 'restore-wrong-password');
      // The phone restarts after a restore (unplugged, then back): follow it on the emulator.
      const replugs: string[] = [];
      const stop = bench.te.emu.subscribe((e) => replugs.push(e.type));
      await testid('restore-password').fill(PASSWORD);
      await testid('restore-submit').click();
      await testid('restore-dialog').waitFor({ state: 'detached', timeout: 20_000 });
      await page.locator('[data-testid="job-status"][data-kind="restore"]').first().waitFor({ timeout: 15_000 });
      await page
        .locator('[data-testid="job-status"][data-kind="restore"][data-state="done"]')
        .waitFor({ timeout: 30_000 });
      await shot(page, 'restore-done');
      // The phone restarts after a restore and comes back, still trusted.
      try {
        await until(
          async () => replugs.includes('detached') && replugs.lastIndexOf('attached') > replugs.indexOf('detached'),
          'the phone restarted',
          25_000,
        );
      } finally {
        stop();
      }
      await page
        .locator(`[data-testid="device-page"][data-udid="${phone.udid}"][data-trust="trusted"]`)
        .waitFor({ timeout: 20_000 });
    },
  );

  test('Archive, then Delete the archive after confirming', { timeout: 30_000 }, async () => {
    await closeDialogs();
    await testid('manage-backups').first().click();
    await testid('backups-dialog').waitFor();
    const current = page
      .locator(`[data-testid="backup-row"][data-udid="${phone.udid}"]`)
      .filter({ has: page.getByTestId('archive-button') });
    await current.first().getByTestId('archive-button').click();
    await page.getByTestId('archive-result').or(page.getByTestId('backup-error')).waitFor({ timeout: 20_000 });
    assert.equal(await page.getByTestId('backup-error').count(), 0, await current.first().innerText());
    const listed = await backupsNow();
    const archive = listed.backups.find((b) => b.kind === 'archive');
    assert.ok(archive, `an archive is listed: ${JSON.stringify(listed.backups.map((b) => b.kind))}`);
    const row = page.locator(`[data-testid="backup-row"][data-path="${archive.path}"]`);
    await row.waitFor();
    await row.getByTestId('delete-button').click();
    await testid('delete-dialog').waitFor();
    await shot(page, 'delete-confirm');
    await testid('confirm-delete').click();
    await row.waitFor({ state: 'detached', timeout: 15_000 });
    // The note naming the archive goes with it.
    await page.getByTestId('archive-result').waitFor({ state: 'detached' });
    await testid('backups-close').click();
  });

  test('the passcode prompt on the phone, then Cancel: the last backup stays', { timeout: 30_000 }, async () => {
    await closeDialogs();
    // The phone restarted after the restore: the device object is a new one.
    const now = bench.te.emu.find(phone.udid);
    now.passcode = { mode: 'after', seconds: 1500 };
    now.runtime!.faults.set(parseFault('throttle', { mbps: 2 }));
    const before = await testid('last-backup').getAttribute('data-date');
    await page.locator('[data-testid="backup-now"]:not([disabled])').click();
    await testid('passcode-prompt').waitFor({ timeout: 15_000 });
    assert.match(await testid('passcode-prompt').innerText(), /Enter your passcode on your iPhone to start the backup/);
    await shot(page, 'passcode-prompt');
    await page.locator('[data-testid="job-status"][data-state="running"][data-kind="backup"]').waitFor();
    await testid('passcode-prompt').waitFor({ state: 'detached', timeout: 15_000 });
    await testid('cancel-job').click();
    await page
      .locator('[data-testid="job-status"][data-state="cancelled"][data-kind="backup"]')
      .waitFor({ timeout: 15_000 });
    assert.equal(await testid('last-backup').getAttribute('data-date'), before);
    await shot(page, 'backup-cancelled');
    now.passcode = { mode: 'enter' };
  });

  test(
    'Change Password… (old, new twice), then turning encryption off with the new password',
    { timeout: 30_000 },
    async () => {
      await closeDialogs();
      const next = `${PASSWORD} and more`;
      await page.locator('[data-testid="change-password"]:not([disabled])').click();
      await testid('password-dialog').waitFor();
      // A wrong current password: only it is typed again, with the focus on it, the error in the dialog only.
      await testid('password-current').fill('not the password');
      await testid('password-new').fill(next);
      await testid('password-verify').fill(next);
      await testid('password-submit').click();
      await testid('password-error').waitFor({ timeout: 20_000 });
      assert.equal(await testid('password-current').inputValue(), '');
      assert.equal(await testid('password-new').inputValue(), next);
      assert.equal(await testid('password-verify').inputValue(), next);
      await page.waitForFunction('document.activeElement?.dataset.testid === "password-current"');
      assert.equal(await testid('device-problem').count(), 0, 'the error is not behind the dialog too');
      await testid('password-current').fill(PASSWORD);
      await page.locator('[data-testid="password-match"][data-match="yes"]').waitFor();
      await shot(page, 'change-password');
      await testid('password-submit').click();
      await testid('password-dialog').waitFor({ state: 'detached', timeout: 20_000 });
      await page.locator('[data-testid="encrypt-checkbox"]:checked').waitFor();
      await page.locator('[data-testid="encryption-done"][data-mode="change"]').waitFor();
      assert.equal(await testid('device-problem').count(), 0);

      await testid('encrypt-checkbox').click();
      await page.locator('[data-testid="password-dialog"] form[data-mode="off"]').waitFor();
      await testid('password-current').fill(PASSWORD); // the old one: refused, with what to do
      await testid('password-submit').click();
      await testid('password-error').waitFor({ timeout: 20_000 });
      assert.notEqual((await testid('password-error').locator('.error-remedy').innerText()).trim(), '');
      assert.equal(await testid('password-current').inputValue(), '', 'the password is not kept after its request');
      await testid('password-current').fill(next);
      await testid('password-submit').click();
      await testid('password-dialog').waitFor({ state: 'detached', timeout: 20_000 });
      await page.locator('[data-testid="encrypt-checkbox"]:not(:checked)').waitFor();
      assert.equal(await testid('change-password').isDisabled(), true);
      await shot(page, 'encryption-off');
    },
  );

  test('usbmuxd not running: the page says so, with what to do', { timeout: 20_000 }, async () => {
    const nowhere = `UNIX:${join(bench.configHome, 'no-usbmuxd.sock')}`;
    const other = await startUiServer({
      host: { usbmuxd: nowhere, ownDir: join(bench.configHome, 'other'), systemDirs: [], timeoutMs: 2_000 },
      backupDirs: [bench.backupDir],
      log: () => undefined,
    });
    const ctx2 = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    try {
      const p2 = await ctx2.newPage();
      p2.setDefaultTimeout(T);
      await p2.goto(other.url, { timeout: T });
      const problem = p2.getByTestId('no-device-problem');
      await problem.waitFor();
      assert.notEqual((await problem.locator('.error-remedy').innerText()).trim(), '');
      assert.equal(await p2.getByTestId('devices-problem').count(), 1, 'the sidebar shows it too');
      await shot(p2, 'no-usbmuxd');
    } finally {
      await ctx2.close();
      await other.close();
    }
  });

  test('the page raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
