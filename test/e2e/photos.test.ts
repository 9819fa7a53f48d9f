/**
 * The Photos section of the web app in Chromium: the library counts and the iCloud Photos warning
 * of a phone that optimises its storage, Export… with a folder and its summary, and the grid of a
 * backup's photos — the phone's own thumbnails decoded by the browser, then a 5 000-photo backup
 * whose first page's time is printed in the log. Screenshots go to test-artifacts/e2e/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { PhotosStatusView } from '../../src/web/api.js';
import { startUiServer, type UiServer } from '../../src/web/server.js';
import { bigPhotoBackup } from '../support/photos-backup.js';
import { pairedDevice, startBench, type Bench } from '../support/bench.js';
import { browserSkip, launchBrowser, openPage, shot, until } from '../support/browser.js';

const T = 15_000;
const BIG = 5000;

const skip = browserSkip();

describe('Photos in the web app', { skip, timeout: 120_000 }, () => {
  let bench: Bench;
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  let out: string;
  const pageErrors: string[] = [];
  const testid = (id: string) => page.getByTestId(id);

  before(async () => {
    bench = await startBench({ profile: { extends: 'tiny', content: { icloudPhotos: 'optimize' } } });
    await pairedDevice(bench, bench.te.udids[0] as string);
    out = await mkdtemp(join(tmpdir(), 'ibackup-e2e-photos-'));
    server = await startUiServer({ ctx: bench.ctx, backupDirs: [bench.backupDir], log: () => undefined });
    browser = await launchBrowser();
    const context = await browser.newContext({
      viewport: { width: 1100, height: 900 },
      locale: 'en-GB',
      timezoneId: 'UTC',
    });
    page = await openPage(context, server.url, pageErrors, T);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await bench?.dispose().catch(() => undefined);
    if (out) await rm(out, { recursive: true, force: true });
  });

  test('library counts, the iCloud Photos warning, Export… into a folder', { timeout: 40_000 }, async () => {
    await testid('photos-library').waitFor();
    const udid = bench.te.udids[0] as string;
    const status = (await (
      await page.context().request.get(new URL(`/api/devices/${udid}/photos`, server.url).href)
    ).json()) as PhotosStatusView;
    assert.match(
      await testid('photos-library').innerText(),
      new RegExp(`^${status.library.photos} photos, ${status.library.videos} video`),
    );
    assert.equal(await testid('photos-icloud').innerText(), 'on');
    assert.match(
      await testid('photos-cloud-only').innerText(),
      new RegExp(`^${status.originalsNotOnDevice} originals`),
    );
    assert.match(
      await testid('photos-icloud-warning').innerText(),
      /not in computer backups while iCloud Photos is on/,
    );
    await shot(page, 'photos-section');

    await testid('photos-export').click();
    await testid('photos-export-folder').fill(out);
    await testid('photos-export-start').click();
    await testid('photos-export-summary').waitFor({ timeout: 30_000 });
    const files = (await readdir(out, { recursive: true, withFileTypes: true })).filter(
      (e) => e.isFile() && !e.name.startsWith('.'),
    );
    assert.match(await testid('photos-export-summary').innerText(), new RegExp(`^Copied ${files.length} files`));
    // Hidden photos are not copied without --hidden, so at most that many are counted as left in iCloud.
    const left = Number(/(\d+) left in iCloud/.exec(await testid('photos-export-summary').innerText())?.[1]);
    assert.ok(left > 0 && left <= status.originalsNotOnDevice, `${left} left in iCloud`);
    await shot(page, 'photos-exported');
  });

  test(
    'the last backup’s grid: the phone’s thumbnails shown; a 5 000-photo backup’s first page',
    { timeout: 60_000 },
    async () => {
      await testid('backup-now').click();
      await page
        .locator('[data-testid="job-status"][data-state="done"][data-kind="backup"]')
        .waitFor({ timeout: 40_000 });
      await testid('photos-show-grid').click();
      await page.locator('[data-testid="photo-tile"]').first().waitFor();
      const shows = await page
        .locator('[data-testid="photo-tile"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-show')));
      assert.ok(
        shows.length > 0 && shows.every((s) => s === 'thumbnail'),
        `iCloud Photos on: thumbnails only (${shows.join(',')})`,
      );
      await until(
        () =>
          page
            .locator('.photo-tile img')
            .evaluateAll((imgs) => imgs.every((i) => (i as unknown as { naturalWidth: number }).naturalWidth > 0)),
        'every thumbnail is decoded',
      );
      await shot(page, 'photos-grid-thumbnails');

      bigPhotoBackup(bench.backupDir, bench.te.udids[0] as string, BIG);
      await page.reload();
      await testid('photos-show-grid').waitFor();
      const started = Date.now();
      await testid('photos-show-grid').click();
      await page.locator('[data-testid="photo-tile"] img').first().waitFor();
      const firstPage = Date.now() - started;
      console.log(`# photo grid: first page of a ${BIG}-photo backup on screen in ${firstPage} ms (target < 500 ms)`);
      assert.equal(await testid('photo-grid').getAttribute('data-total'), String(BIG));
      assert.equal(await page.locator('[data-testid="photo-tile"]').count(), 60);
      assert.ok((await page.locator('[data-testid="photo-tile"][data-show="original"]').count()) > 0);
      await page.locator('[data-testid="photo-grid-more"]').scrollIntoViewIfNeeded();
      await until(async () => (await page.locator('[data-testid="photo-tile"]').count()) > 60, 'the next page loads');
      assert.ok(
        (await page.locator('[data-testid="photo-icon"]').count()) > 0,
        'a photo without any image shows an icon',
      );
      await shot(page, 'photos-grid-big');
      assert.deepEqual(pageErrors, []);
    },
  );
});
