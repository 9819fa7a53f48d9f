/**
 * The Options of the device page in Chromium: "Back up automatically when this iPhone is
 * connected" kept in ibackup's own folder, "Show this iPhone when on Wi-Fi" set on the phone
 * (which then shows up over Wi-Fi), the next-backup line, and the queue view while a running
 * watch backs up three phones one at a time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { openAutoPolicy } from '../../src/app/auto.js';
import { runWatch } from '../../src/app/watch-service.js';
import type { WatchEvent } from '../../src/app/watch.js';
import { parseFault } from '../../src/emulator/faults.js';
import { startUiServer, type UiServer } from '../../src/web/server.js';
import { pairedDevice, startBench, type Bench } from '../support/bench.js';
import { browserSkip, launchBrowser, openPage, shot, until } from '../support/browser.js';
import { join } from 'node:path';

/** A small phone: a few dozen files, so that each backup takes a moment. */
const SMALL = { extends: 'tiny' as const, content: { files: 30, bytes: 256 * 1024 } };

const T = 10_000;

const skip = browserSkip();

describe('Options in the web app', { skip, timeout: 90_000 }, () => {
  let bench: Bench;
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const testid = (id: string) => page.getByTestId(id);

  before(async () => {
    bench = await startBench({ devices: 3, profile: SMALL });
    await Promise.all(bench.te.udids.map((u) => pairedDevice(bench, u)));
    // ibackup's own folder (the automatic backup settings, the watch status) is the bench's.
    process.env.XDG_CONFIG_HOME = bench.configHome;
    server = await startUiServer({ ctx: bench.ctx, backupDirs: [bench.backupDir], log: () => undefined });
    browser = await launchBrowser();
    const context = await browser.newContext({
      viewport: { width: 1100, height: 1000 },
      locale: 'en-GB',
      timezoneId: 'UTC',
    });
    page = await openPage(context, server.url, pageErrors, T);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await bench?.dispose().catch(() => undefined);
  });

  test('automatic backup on by default, turned off and on; Wi-Fi turned on', { timeout: 30_000 }, async () => {
    await testid('options-section').waitFor();
    const udid = (await testid('device-page').getAttribute('data-udid')) as string;
    await until(
      async () => (await testid('auto-checkbox').isChecked()) && !(await testid('auto-checkbox').isDisabled()),
      'the setting is read',
    );
    assert.match(
      await testid('next-backup').innerText(),
      /^Next backup: when connected\. Automatic backups need "ibackup watch"/,
    );
    const store = openAutoPolicy(join(bench.configHome, 'ibackup'));
    await testid('auto-checkbox').click();
    await until(async () => (await testid('next-backup').innerText()).startsWith('Automatic backup is off'), 'off');
    assert.equal((await store.get(udid)).enabled, false);
    await testid('auto-checkbox').click();
    await until(async () => (await testid('next-backup').innerText()).startsWith('Next backup: when connected'), 'on');
    assert.equal((await store.get(udid)).enabled, true);

    await until(async () => !(await testid('wifi-checkbox').isDisabled()), 'the Wi-Fi setting is read');
    assert.equal(await testid('wifi-checkbox').isChecked(), false);
    await testid('wifi-checkbox').click();
    await until(async () => bench.te.emu.networkDevices().some((d) => d.udid === udid), 'listed over Wi-Fi');
    // The page shows the setting once the server has answered, which may come after the phone joined.
    await until(async () => await testid('wifi-checkbox').isChecked(), 'the Wi-Fi box checked');
    await shot(page, 'options');
  });

  test(
    'while watch backs up three phones one at a time: the queue; then the next backup time',
    { timeout: 50_000 },
    async () => {
      for (const d of bench.te.emu.devices()) d.runtime?.faults.set(parseFault('throttle', { mbps: 2 }));
      const events: WatchEvent[] = [];
      const ac = new AbortController();
      const watching = runWatch(
        {
          ctx: bench.ctx,
          roots: [bench.backupDir],
          parallel: 1,
          configDir: join(bench.configHome, 'ibackup'),
          onEvent: (e) => events.push(e),
        },
        ac.signal,
      );
      try {
        await testid('watch-queue').waitFor({ timeout: 20_000 });
        assert.equal((await testid('queue-running').innerText()).split(', ').length, 1);
        await until(async () => (await testid('queue-waiting').locator('li').count()) === 2, 'two phones waiting');
        await shot(page, 'options-queue');
        for (const d of bench.te.emu.devices()) d.runtime?.faults.clear();
        await until(async () => events.filter((e) => e.event === 'completed').length === 3, 'three backups', 40_000);
        await until(
          async () => /^Next backup: when connected after /.test(await testid('next-backup').innerText()),
          'the next backup time',
          15_000,
        );
        await until(async () => (await testid('watch-queue').count()) === 0, 'the queue gone', 15_000);
      } finally {
        ac.abort();
        await watching;
      }
      assert.deepEqual(pageErrors, []);
    },
  );
});
