/**
 * The moments where the web app must not mislead, in Chromium against two virtual iPhones:
 * progress that follows the bytes and never claims "About 1 s left" while the iPhone is busy,
 * a restore whose bar moves and says its total; a cancelled backup told as a cancel (not an
 * error); Manage Backups after that cancel; the chosen phone kept on the page while it is
 * unplugged, never another phone's page in its place; and the backup folder, seen and changed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parseFault } from '../../src/emulator/faults.js';
import { startUiServer, type UiServer } from '../../src/web/server.js';
import { pairedDevice, startBench, type Bench } from '../support/bench.js';
import { browserSkip, launchBrowser, openPage, shot, until } from '../support/browser.js';

/** 4 MB over 600 files: several upload batches, a few seconds on a throttled link. */
const PROFILE = { extends: 'tiny' as const, content: { files: 600 } };
const T = 10_000;

const skip = browserSkip();

interface Reading {
  t: number;
  state: string | null;
  percent: number | null;
  details: string;
}

/** Reads the job's state, bar and details line every 100 ms until the job is no longer running. */
async function follow(page: Page, timeoutMs: number): Promise<Reading[]> {
  const out: Reading[] = [];
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = (await page.evaluate(`(() => {
      const status = document.querySelector('[data-testid="job-status"]');
      const bar = document.querySelector('[data-testid="job-progress"]');
      const details = document.querySelector('[data-testid="job-details"]');
      return {
        state: status ? status.getAttribute('data-state') : null,
        percent: bar && bar.getAttribute('aria-valuenow') !== null ? Number(bar.getAttribute('aria-valuenow')) : null,
        details: details ? details.textContent : '',
      };
    })()`)) as Omit<Reading, 't'>;
    out.push({ t: Date.now(), ...r });
    if (r.state !== null && r.state !== 'running') return out;
    if (Date.now() > end) throw new Error(`still running after ${timeoutMs} ms: ${JSON.stringify(out.slice(-3))}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** The longest time one "About N s left" text stayed on screen, with N, for each text seen. */
function etaStays(readings: readonly Reading[]): { text: string; seconds: number; shownMs: number }[] {
  const out: { text: string; seconds: number; shownMs: number }[] = [];
  let current: { text: string; since: number } | null = null;
  for (const r of readings) {
    const m = /About (\d+) s left/.exec(r.details);
    const text = m ? m[0] : null;
    if (current !== null && current.text !== text) {
      out.push({ text: current.text, seconds: Number(/\d+/.exec(current.text)![0]), shownMs: r.t - current.since });
      current = null;
    }
    if (text !== null && current === null) current = { text, since: r.t };
  }
  return out;
}

describe('the web app in the moments that matter', { skip, timeout: 180_000 }, () => {
  let bench: Bench;
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const testid = (id: string) => page.getByTestId(id);
  let first = '';
  let second = '';

  before(async () => {
    bench = await startBench({ devices: 2, profile: PROFILE });
    [first, second] = bench.te.udids as [string, string];
    for (const u of bench.te.udids) await pairedDevice(bench, u);
    process.env.XDG_CONFIG_HOME = bench.configHome;
    server = await startUiServer({
      ctx: bench.ctx,
      backupDirs: [bench.backupDir],
      configDir: join(bench.configHome, 'ibackup'),
      log: () => undefined,
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: 'en-US' });
    page = await openPage(context, server.url, pageErrors, T);
    await page.locator(`[data-testid="device-item"][data-udid="${second}"]`).click();
    await page.locator(`[data-testid="device-page"][data-udid="${second}"][data-trust="trusted"]`).waitFor();
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await bench?.dispose().catch(() => undefined);
  });

  test('backup progress follows the bytes; no time left is claimed while the iPhone is busy', async () => {
    const phone = bench.te.emu.find(second);
    phone.runtime!.faults.set(parseFault('throttle', { mbps: 12 }));
    // After its last upload the iPhone moves files into place: 4 s with nothing to measure.
    phone.runtime!.faults.set(parseFault('stall', { seconds: 4, phase: 'moving' }));
    await page.locator('[data-testid="backup-now"]:not([disabled])').click();
    const readings = await follow(page, 60_000);
    await shot(page, 'finder-backup-done');
    assert.equal(readings[readings.length - 1]!.state, 'done');
    // The bar climbs with the bytes: no jump of more than 35 points between two readings.
    const percents = readings.map((r) => r.percent).filter((p): p is number => p !== null);
    for (let i = 1; i < percents.length; i++)
      assert.ok(percents[i]! - percents[i - 1]! <= 35, `the bar jumped: ${percents.join(', ')}`);
    // An estimate never outstays itself (not "About 1 s left" for the 4 s the iPhone is busy).
    for (const s of etaStays(readings))
      assert.ok(s.shownMs <= (s.seconds + 3) * 1000, `"${s.text}" stayed ${s.shownMs} ms`);
    assert.ok(
      readings.some((r) => /\d+ files/.test(r.details)),
      `the files received are counted: ${readings.map((r) => r.details).join(' | ')}`,
    );
    // A first backup: no previous one to tell the bytes against.
    assert.ok(
      readings.every((r) => !/ of about /.test(r.details)),
      `a first backup shows no total: ${readings.map((r) => r.details).join(' | ')}`,
    );
  });

  test('a restore: the bar moves through the middle and the total is shown', async () => {
    await testid('restore-backup').click();
    await testid('restore-dialog').waitFor();
    await page.locator('[data-testid="restore-option"] input').first().check();
    const before = Date.now();
    await testid('restore-submit').click();
    await page.locator('[data-testid="job-status"][data-kind="restore"]').first().waitFor({ timeout: 15_000 });
    const readings = await follow(page, 60_000);
    assert.equal(readings[readings.length - 1]!.state, 'done', `${Date.now() - before} ms`);
    const middle = readings.filter((r) => r.percent !== null && r.percent > 5 && r.percent < 95);
    assert.ok(middle.length > 0, `the bar went 0 → 100: ${readings.map((r) => r.percent).join(', ')}`);
    assert.ok(
      readings.some((r) => / of \d/.test(r.details)),
      `no total: ${readings.map((r) => r.details).join(' | ')}`,
    );
  });

  test('the restarting phone keeps its page (with its result) until the user moves', async () => {
    // A finished restore restarts the phone: unplugged, then back.
    const sawGone = await until(
      async () => (await testid('device-disconnected').count()) > 0,
      'the page says the phone is not connected',
      20_000,
    ).then(
      () => true,
      () => false,
    );
    if (sawGone) {
      assert.equal(await testid('device-page').getAttribute('data-udid'), second);
      assert.equal(await testid('job-status').getAttribute('data-state'), 'done');
      await shot(page, 'finder-restarting');
    }
    await page.locator(`[data-testid="device-page"][data-udid="${second}"][data-trust="trusted"]`).waitFor({
      timeout: 30_000,
    });
    await until(async () => (await testid('device-disconnected').count()) === 0, 'the phone is back', 30_000);
  });

  test('the chosen phone unplugged: its page stays, disconnected, and cannot be backed up', async () => {
    bench.te.emu.detach(second);
    await testid('device-disconnected').waitFor({ timeout: 15_000 });
    // Longer than the 5 s the page used to show the other phone for.
    await page.waitForTimeout(5_500);
    assert.equal(await testid('device-page').getAttribute('data-udid'), second);
    assert.notEqual(await testid('last-backup').getAttribute('data-date'), '', 'its Last Backup is kept');
    assert.equal(await testid('backup-now').isDisabled(), true);
    assert.equal(await testid('restore-backup').isDisabled(), true);
    await page
      .locator(`[data-testid="device-item"][data-udid="${second}"] [data-testid="device-item-disconnected"]`)
      .waitFor();
    await shot(page, 'finder-unplugged');
    // The user moves to the other phone: its own page.
    await page.locator(`[data-testid="device-item"][data-udid="${first}"]`).click();
    await page.locator(`[data-testid="device-page"][data-udid="${first}"]`).waitFor();
    await bench.te.emu.attach({ udid: second });
    await page.locator(`[data-testid="device-item"][data-udid="${second}"]`).click();
    await page.locator(`[data-testid="device-page"][data-udid="${second}"][data-trust="trusted"]`).waitFor({
      timeout: 20_000,
    });
  });

  test('Cancel is told as a cancel, not an error', async () => {
    const phone = bench.te.emu.find(second);
    phone.runtime!.faults.set(parseFault('throttle', { mbps: 2 }));
    await page.locator('[data-testid="backup-now"]:not([disabled])').click();
    await page.locator('[data-testid="job-progress"][aria-valuenow]').waitFor({ timeout: 20_000 });
    await until(async () => Number(await testid('job-progress').getAttribute('aria-valuenow')) > 3, 'files arrive');
    // The phone has a complete backup now: the bytes are told against its size.
    await until(
      async () => / of about \d/.test(await testid('job-details').innerText()),
      'the bytes of about the previous backup’s size',
    );
    await testid('cancel-job').click();
    await page.locator('[data-testid="job-status"][data-state="cancelled"]').waitFor({ timeout: 20_000 });
    const text = await testid('job-status').innerText();
    assert.match(text, /Backup cancelled\. Your last complete backup is unchanged\./);
    assert.equal(await testid('job-error').count(), 0);
    assert.doesNotMatch(text, /command/i);
    await shot(page, 'finder-cancelled');
  });

  test('Manage Backups after the cancel: the phone’s backup, its last complete one, said so', async () => {
    await testid('manage-backups').first().click();
    const row = page.locator(`[data-testid="backup-row"][data-udid="${second}"]`);
    await row.waitFor();
    assert.equal(await row.count(), 1, 'one row for the phone');
    assert.equal(await row.getByTestId('backup-kind').innerText(), 'Backup');
    await row.getByTestId('backup-unfinished').waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.doesNotMatch(cells[3]!, /Incomplete/, 'the encryption column says only encryption');
    assert.match(cells[1]!, /^Today, \d{1,2}:\d\d:\d\d/, `the date: ${cells[1]}`);
    await row.getByTestId('verify-button').click();
    await row.getByTestId('verify-result').waitFor({ timeout: 20_000 });
    assert.equal(await row.getByTestId('verify-result').getAttribute('data-ok'), 'yes');
    await shot(page, 'finder-manage-after-cancel');
    await testid('backups-close').click();
  });

  test('usbmuxd stops mid-backup: the phone’s page stays and says the backup failed', async () => {
    bench.te.emu.find(second).runtime!.faults.set(parseFault('throttle', { mbps: 4 }));
    await page.locator('[data-testid="backup-now"]:not([disabled])').click();
    await until(
      async () =>
        Number(
          (await testid('job-progress')
            .getAttribute('aria-valuenow')
            .catch(() => null)) ?? 0,
        ) > 2,
      'files arrive',
      20_000,
    );
    const restarted = bench.te.restart();
    const seen = new Set<string>();
    await until(
      async () => {
        seen.add(
          (await testid('device-page')
            .getAttribute('data-udid')
            .catch(() => null)) ?? 'none',
        );
        return (
          (await testid('job-status')
            .getAttribute('data-state')
            .catch(() => null)) === 'failed'
        );
      },
      'the backup is shown as failed',
      20_000,
    );
    await shot(page, 'finder-usbmuxd-gone');
    assert.deepEqual([...seen], [second], 'only this phone’s page was shown');
    assert.notEqual(await testid('job-error').innerText(), '');
    await restarted;
    await page.locator(`[data-testid="device-page"][data-udid="${second}"][data-trust="trusted"]`).waitFor({
      timeout: 20_000,
    });
  });

  test('the backup folder is shown and Change… checks, saves and uses another one', async () => {
    const folder = testid('backup-folder');
    await folder.waitFor();
    assert.equal(await testid('backup-folder-path').innerText(), bench.backupDir);
    assert.match(await folder.innerText(), /free/);
    await testid('folder-change').click();
    await testid('folder-input').fill(join(bench.configHome, 'no such folder'));
    await testid('folder-submit').click();
    await testid('folder-error').waitFor();
    assert.equal(await testid('folder-error').getAttribute('data-code'), 'BACKUP_FOLDER_UNSUITABLE');
    await testid('folder-input').fill('relative/folder');
    await testid('folder-submit').click();
    await until(async () => /full path/.test(await testid('folder-error').innerText()), 'a relative path is refused');
    const other = await mkdtemp(join(tmpdir(), 'ibackup-other-'));
    try {
      await testid('folder-input').fill(other);
      await shot(page, 'finder-folder-dialog');
      await testid('folder-submit').click();
      await testid('folder-dialog').waitFor({ state: 'detached' });
      assert.equal(await testid('backup-folder-path').innerText(), other);
      const saved = JSON.parse(await readFile(join(bench.configHome, 'ibackup', 'settings.json'), 'utf8')) as {
        backupDir: string;
      };
      assert.equal(saved.backupDir, other);
      // Manage Backups now lists the new folder (empty), not the old one's backups.
      await testid('manage-backups').first().click();
      await testid('no-backups').waitFor();
      assert.match(
        await testid('backups-dialog').innerText(),
        new RegExp(other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      );
      await shot(page, 'finder-folder-changed');
      await testid('backups-close').click();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  test('the page raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
