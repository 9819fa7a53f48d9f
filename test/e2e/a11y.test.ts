/**
 * The web app for keyboard, screen reader and narrow-window users, in Chromium: axe-core finds no
 * violation on each view; the Trust panel gives one remedy per state and does not go stale after
 * its wait ends (a phone unlocked and trusted later moves on by itself); focus moves to Cancel when Back Up Now is pressed and to the result when the job
 * ends (announced); headings do not skip a level; the selected phone stays highlighted under the
 * pointer; at 400 px the sidebar is a menu and Manage Backups' buttons stay on screen.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { VirtualDevice } from '../../src/emulator/device.js';
import { parseFault } from '../../src/emulator/faults.js';
import { startUiServer, type UiServer } from '../../src/web/server.js';
import { axeViolations, describeViolations } from '../support/axe.js';
import { startBench, type Bench } from '../support/bench.js';
import { browserSkip, launchBrowser, openPage, shot } from '../support/browser.js';

/** A small phone whose owner leaves it locked at first. */
const PROFILE = {
  extends: 'tiny' as const,
  behaviour: { trust: { mode: 'locked' as const }, keyDerivationIterations: 1000 },
  content: { files: 200 },
};
const T = 10_000;
const PASSWORD = 'a password for the browser 7';

const skip = browserSkip();

describe('the web app, accessible', { skip, timeout: 120_000 }, () => {
  let bench: Bench;
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  let phone: VirtualDevice;
  const pageErrors: string[] = [];
  const testid = (id: string) => page.getByTestId(id);
  const noViolations = async (view: string): Promise<void> => {
    const vs = await axeViolations(page);
    assert.equal(vs.length, 0, `${view}:\n${describeViolations(vs)}`);
  };
  const focused = (): Promise<string | null> =>
    page.evaluate('document.activeElement ? document.activeElement.getAttribute("data-testid") : null') as Promise<
      string | null
    >;

  before(async () => {
    bench = await startBench({ devices: 0, profile: PROFILE });
    process.env.XDG_CONFIG_HOME = bench.configHome;
    // The trust flow gives up on a locked phone after 1.5 s (2 min in use).
    server = await startUiServer({
      ctx: bench.ctx,
      backupDirs: [bench.backupDir],
      log: () => undefined,
      trustTimeoutMs: 1_500,
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    page = await openPage(context, server.url, pageErrors, T);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await bench?.dispose().catch(() => undefined);
  });

  test('no iPhone: no violations', async () => {
    await testid('no-device').waitFor();
    await noViolations('no iPhone');
  });

  test('locked, then the wait ends: no spinner over the button, one remedy, Trust offered', async () => {
    phone = await bench.te.emu.attach();
    await page.locator('[data-testid="trust-panel"][data-state="locked"]').waitFor();
    await page.locator('[data-testid="trust-panel"][data-waiting="no"]').waitFor({ timeout: 15_000 });
    const panel = testid('trust-panel');
    assert.equal(await panel.locator('.spinner').count(), 0, 'no spinner once nothing is waited for');
    assert.equal(await testid('trust-button').isDisabled(), false);
    assert.equal(await testid('trust-remedy').count(), 1);
    assert.equal(await testid('trust-error').count(), 0, 'the panel says it once, not an error as well');
    await shot(page, 'a11y-trust-locked-idle');
    await noViolations('trust, locked');
  });

  test('denied: one remedy, not three', async () => {
    phone.setTrust({ mode: 'deny' });
    await testid('trust-button').click();
    await page.locator('[data-testid="trust-panel"][data-state="denied"][data-waiting="no"]').waitFor({
      timeout: 15_000,
    });
    assert.equal(await testid('trust-remedy').count(), 1);
    assert.equal(await testid('trust-error').count(), 0);
    assert.equal(await testid('device-problem').count(), 0);
    await shot(page, 'a11y-trust-denied');
    await noViolations('trust, denied');
  });

  test('trusted: headings in order, the General title is no control, the selection stays under the pointer', async () => {
    phone.setTrust({ mode: 'accept' });
    await testid('trust-button').click();
    await page.locator('[data-testid="device-page"][data-trust="trusted"]').waitFor({ timeout: 15_000 });
    await testid('capacity-bar').waitFor();
    const levels = (await page.evaluate(
      '[...document.querySelectorAll("main h1, main h2, main h3, main h4")].map((h) => Number(h.tagName[1]))',
    )) as number[];
    for (let i = 1; i < levels.length; i++)
      assert.ok(levels[i]! <= levels[i - 1]! + 1, `a heading skips a level: ${levels.join(' ')}`);
    const style = (sel: string, prop: string): Promise<string> =>
      page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(sel)})).${prop}`) as Promise<string>;
    assert.equal(await style('.tab.current', 'cursor'), 'default');
    const sel = `[data-testid="device-item"][data-udid="${phone.udid}"]`;
    const plain = await style(sel, 'backgroundColor');
    await page.locator(sel).hover();
    const hovered = await style(sel, 'backgroundColor');
    assert.notEqual(hovered, 'rgb(232, 232, 236)', 'the hover colour of an unselected item');
    assert.notEqual(plain, 'rgba(0, 0, 0, 0)');
    await noViolations('device page');
  });

  test('Back Up Now by keyboard: focus to Cancel, then to the announced result', async () => {
    bench.te.emu.find(phone.udid).runtime!.faults.set(parseFault('throttle', { mbps: 24 }));
    await testid('backup-now').focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="job-status"][data-state="running"]').waitFor();
    await page.waitForFunction('document.activeElement && document.activeElement.dataset.testid === "cancel-job"');
    await noViolations('backup running');
    await page.locator('[data-testid="job-status"][data-state="done"]').waitFor({ timeout: 30_000 });
    await page.waitForFunction('document.activeElement && document.activeElement.dataset.testid === "job-result"');
    assert.equal(await testid('job-result').getAttribute('role'), 'status');
    assert.equal(await focused(), 'job-result');
    await noViolations('backup done');
  });

  test('Manage Backups and the folder dialog: no violations', async () => {
    await testid('manage-backups').first().click();
    await testid('backup-row').first().waitFor();
    await noViolations('Manage Backups');
    await testid('backups-close').click();
    await testid('folder-change').click();
    await testid('folder-dialog').waitFor();
    await noViolations('backup folder');
    await page.keyboard.press('Escape');
  });

  test('Browse… a backup: its domains, a folder, a search, a plist previewed; no violations', async () => {
    await testid('manage-backups').first().click();
    await testid('backup-row').first().getByTestId('browse-button').click();
    await testid('browser-dialog').waitFor();
    await page.locator('[data-testid="browse-domain"][data-domain="HomeDomain"]').click();
    const library = page.locator('[data-testid="browse-entry"][data-name="Library"]');
    await library.waitFor();
    await noViolations('browser, a folder');
    // Extract… the folder into one of this computer.
    const out = await mkdtemp(join(tmpdir(), 'ibackup-extract-'));
    try {
      await library.getByTestId('browse-extract-button').click();
      await testid('browse-extract-out').fill(out);
      await testid('browse-extract-submit').click();
      await testid('browse-extract-done').waitFor({ timeout: 20_000 });
      assert.ok((await readdir(join(out, 'HomeDomain', 'Library'))).length > 0);
      await noViolations('browser, extract');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    // The camera roll's JPEGs: thumbnails, loaded as they come into view.
    await testid('browse-search').fill('.jpg');
    await page.locator('[data-testid="browse-thumb"][src^="data:image/"]').first().waitFor({ timeout: 20_000 });
    await testid('browse-search').fill('.plist');
    const plist = page
      .locator('[data-testid="browse-entry"][data-type="file"][data-name$=".plist"]')
      .filter({ has: testid('browse-preview') });
    await plist.first().getByTestId('browse-preview').click();
    await testid('browse-preview-box').waitFor();
    assert.match(await testid('browse-preview-box').innerText(), /<\?xml|<plist/);
    await shot(page, 'a11y-browser');
    await noViolations('browser, a preview');
    await testid('browser-close').click();
    await testid('backups-close').click();
  });

  test('Browse… an encrypted backup: a wrong password refused, the right one asked once, a file decrypted', async () => {
    // Encrypt local backup, then the backup it offers.
    await testid('encrypt-checkbox').click();
    await testid('password-new').fill(PASSWORD);
    await testid('password-verify').fill(PASSWORD);
    await testid('password-submit').click();
    await testid('password-dialog').waitFor({ state: 'detached', timeout: 20_000 });
    await testid('encryption-backup-now').click();
    await page.locator('[data-testid="job-status"][data-state="done"]').waitFor({ timeout: 30_000 });
    const open = async (): Promise<void> => {
      await testid('manage-backups').first().click();
      await page.locator('[data-testid="backup-row"] [data-testid="backup-encrypted"]').first().waitFor();
      await testid('backup-row').first().getByTestId('browse-button').click();
      await testid('browser-dialog').waitFor();
    };
    await open();
    await testid('browse-password').fill('not the password');
    await testid('browse-password-submit').click();
    await page.locator('[data-testid="browse-error"][data-code="WRONG_PASSWORD"]').waitFor({ timeout: 20_000 });
    await testid('browse-password').fill(PASSWORD);
    await testid('browse-password-submit').click();
    await testid('browse-search').fill('.plist');
    const plist = page
      .locator('[data-testid="browse-entry"][data-type="file"][data-name$=".plist"]')
      .filter({ has: testid('browse-preview') });
    await plist.first().getByTestId('browse-preview').click();
    await testid('browse-preview-box').waitFor({ timeout: 20_000 });
    assert.match(await testid('browse-preview-box').innerText(), /<plist/, 'the decrypted plist');
    await testid('browser-close').click();
    await testid('backups-close').click();
    // Opened again in this page: the password is not asked again.
    await open();
    await testid('browse-domains').waitFor({ timeout: 20_000 });
    assert.equal(await testid('browse-password').count(), 0);
    await noViolations('browser, encrypted');
    await testid('browser-close').click();
    await testid('backups-close').click();
  });

  test('400 px wide: the sidebar is a menu; Manage Backups keeps its buttons on screen', async () => {
    await page.setViewportSize({ width: 400, height: 800 });
    const sidebar = await page.locator('nav.sidebar').boundingBox();
    assert.ok(sidebar !== null && sidebar.width <= 400 && sidebar.height < 120, JSON.stringify(sidebar));
    assert.equal(await testid('device-list').isVisible(), false);
    await testid('sidebar-menu').click();
    await testid('device-list').waitFor();
    await shot(page, 'a11y-narrow-menu');
    await noViolations('narrow, menu open');
    await page.locator(`[data-testid="device-item"][data-udid="${phone.udid}"]`).click();
    await testid('manage-backups').first().click();
    const row = testid('backup-row').first();
    await row.waitFor();
    for (const b of await row.locator('button').all()) {
      const box = await b.boundingBox();
      assert.ok(box !== null && box.x >= 0 && box.x + box.width <= 400, `a button off screen: ${JSON.stringify(box)}`);
    }
    await shot(page, 'a11y-narrow-manage');
    await noViolations('narrow, Manage Backups');
    await testid('backups-close').click();
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('a phone that stayed locked through the wait: unlocked and trusted later, its page moves on without a click', async () => {
    const late = await bench.te.emu.attach();
    await page.locator(`[data-testid="device-item"][data-udid="${late.udid}"]`).click();
    const panel = page.locator(`[data-testid="device-page"][data-udid="${late.udid}"] [data-testid="trust-panel"]`);
    await panel.and(page.locator('[data-state="locked"][data-waiting="no"]')).waitFor({ timeout: 15_000 });
    // The owner unlocks the phone: it asks "Trust This Computer?" and the page waits for the answer.
    late.setTrust({ mode: 'pending', seconds: 600 });
    await panel.and(page.locator('[data-state="pending"]')).waitFor();
    late.setTrust({ mode: 'accept' });
    await page.locator(`[data-testid="device-page"][data-udid="${late.udid}"][data-trust="trusted"]`).waitFor();
    assert.equal(await testid('trust-panel').count(), 0);
    await shot(page, 'a11y-trust-late');
  });

  test('the page raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
