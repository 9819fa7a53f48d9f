/**
 * Export… in Manage Backups, in Chromium against an in-process virtual iPhone: an encrypted
 * backup's conversations are listed once the password is typed, one conversation is exported
 * into a folder with its progress and result, and the pages land there. Screenshot:
 * test-artifacts/e2e/export-dialog.png.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { changeEncryption } from '../../src/app/encryption.js';
import { startUiServer, type UiServer } from '../../src/web/server.js';
import { backupInto, pairedDevice, startBench, type Bench } from '../support/bench.js';
import { browserSkip, launchBrowser, openPage, shot } from '../support/browser.js';
import { FAST_PROFILE } from '../support/test-emulator.js';

const PASSWORD = 'export horse battery 7';
const T = 10_000;

const skip = browserSkip();

describe('Export… in Manage Backups', { skip, timeout: 90_000 }, () => {
  let bench: Bench;
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  let out: string;
  const pageErrors: string[] = [];
  const testid = (id: string) => page.getByTestId(id);

  before(async () => {
    bench = await startBench({ profile: FAST_PROFILE });
    const udid = bench.te.udids[0] as string;
    const device = await pairedDevice(bench, udid);
    await changeEncryption(device, 'on', { root: bench.backupDir, password: PASSWORD });
    await backupInto(device, bench.backupDir);
    server = await startUiServer({ ctx: bench.ctx, backupDirs: [bench.backupDir], log: () => undefined });
    out = mkdtempSync(path.join(tmpdir(), 'ibackup-e2e-export-'));
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: 'en-GB' });
    page = await openPage(context, server.url, pageErrors, T);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await bench?.dispose().catch(() => undefined);
    rmSync(out, { recursive: true, force: true });
  });

  test('one conversation of an encrypted backup, picked from its list, is written into the folder', async () => {
    await testid('manage-backups').first().click();
    await testid('backups-dialog').waitFor();
    await testid('export-button').first().click();
    await testid('export-dialog').waitFor();
    await testid('export-kind').selectOption('messages');
    await testid('export-password').fill(PASSWORD);
    await testid('export-load-chats').click();
    const chat = testid('export-chat');
    await chat.waitFor({ timeout: 20_000 });
    const group = await chat.locator('option', { hasText: 'Famille' }).getAttribute('value');
    assert.ok(group !== null && group !== '');
    await chat.selectOption(group);
    await testid('export-out').fill(out);
    await testid('export-submit').click();
    const done = testid('export-done');
    await done.waitFor({ timeout: 30_000 });
    assert.match(await done.innerText(), /Exported \d+ messages \(html, \d+ files\)/);
    await shot(page, 'export-dialog');
    const pages = readdirSync(path.join(out, 'Messages')).filter((n) => n.endsWith('.html'));
    assert.deepEqual(pages.sort(), ['Famille 👨‍👩‍👧 & amis.html', 'index.html']);
    assert.deepEqual(pageErrors, []);
  });
});
