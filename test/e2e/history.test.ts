/**
 * A phone's backup history in Manage Backups, in Chromium against an in-process virtual iPhone:
 * three encrypted backups with changes in between make three versions; the page shows them newest
 * first with the Current badge, opens the backup browser on the oldest and on the next (the
 * password asked once; a file only the newer holds), compares, pins,
 * verifies and deletes a version (the space figures follow), and the server refuses a version its
 * history does not name. Screenshots go to test-artifacts/e2e/history-*.png.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { changeEncryption } from '../../src/app/encryption.js';
import type { BackupView, BackupsResponse, HistoryView, VersionDiffView } from '../../src/web/api.js';
import { startUiServer, type UiServer } from '../../src/web/server.js';
import { backupInto, pairedDevice, startBench, type Bench } from '../support/bench.js';
import { browserSkip, launchBrowser, openPage, shot, until } from '../support/browser.js';
import { FAST_PROFILE } from '../support/test-emulator.js';
import { Api } from '../support/web-api.js';

const PASSWORD = 'history horse battery 9';
const T = 10_000;

const skip = browserSkip();

describe('the backup history in Manage Backups', { skip, timeout: 120_000 }, () => {
  let bench: Bench;
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  let api: Api;
  let udid: string;
  let ids: string[] = [];
  const pageErrors: string[] = [];
  const testid = (id: string) => page.getByTestId(id);
  const versionRow = (id: string) => page.locator(`[data-testid="version-row"][data-id="${id}"]`);
  const phoneRow = async (): Promise<BackupView> => {
    const r = await api.call<BackupsResponse>('GET', '/api/backups');
    const row = r.body.backups.find((b) => b.udid === udid && b.kind !== 'archive');
    assert.ok(row?.versions, JSON.stringify(r.body));
    return row;
  };
  const historyNow = async (): Promise<HistoryView> =>
    (await api.call<HistoryView>('POST', '/api/history', { path: (await phoneRow()).path })).body;

  before(async () => {
    bench = await startBench({ profile: FAST_PROFILE });
    udid = bench.te.udids[0] as string;
    const device = await pairedDevice(bench, udid);
    await changeEncryption(device, 'on', { root: bench.backupDir, password: PASSWORD });
    const phone = bench.te.emu.find(udid).runtime!;
    // Three versions, the files changing in between (ids are UTC seconds, suffixed within one).
    await backupInto(device, bench.backupDir);
    await phone.mutate('modify', 4);
    await phone.mutate('add', 3);
    await backupInto(device, bench.backupDir);
    await phone.mutate('modify', 4);
    await phone.mutate('delete', 2);
    await backupInto(device, bench.backupDir);
    server = await startUiServer({ ctx: bench.ctx, backupDirs: [bench.backupDir], log: () => undefined });
    api = new Api(server);
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: 'en-GB' });
    page = await openPage(context, server.url, pageErrors, T);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await bench?.dispose().catch(() => undefined);
  });

  test('the phone row shows 3 versions; expanded, newest first with the Current badge', async () => {
    const row = await phoneRow();
    assert.equal(row.versions?.count, 3);
    await testid('manage-backups').first().click();
    await testid('backups-dialog').waitFor();
    const summary = page.locator(`[data-testid="backup-row"][data-udid="${udid}"] [data-testid="versions-summary"]`);
    assert.match(await summary.innerText(), /^3 versions · [\d.,]+ (kB|MB|GB)$/);
    await page.locator(`[data-testid="backup-row"][data-udid="${udid}"] [data-testid="history-toggle"]`).click();
    await until(async () => (await testid('version-row').count()) === 3, 'three versions are shown');
    ids = (await historyNow()).versions.map((v) => v.id);
    const shown = await testid('version-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    assert.deepEqual(shown, ids);
    assert.deepEqual([...ids].sort().reverse(), ids, 'newest first');
    assert.equal(await versionRow(ids[0]!).getByTestId('current-badge').count(), 1);
    assert.equal(await testid('current-badge').count(), 1, 'only the newest is current');
    assert.match(await testid('history-policy').innerText(), /every version for 24 hours/);
    assert.match(await versionRow(ids[2]!).getByTestId('version-facts').innerText(), /Full · \d+ files/);
    await shot(page, 'history-versions');
  });

  test('Browse… the oldest: the password once, the backup browser on that version, a file previewed', async () => {
    // A file the middle version added: the oldest does not hold it.
    const row = await phoneRow();
    const diff = await api.call<VersionDiffView>('POST', '/api/history/diff', {
      path: row.path,
      version: ids[1],
      password: PASSWORD,
    });
    const added = diff.body.added[0]?.relativePath.split('/').pop();
    assert.ok(added !== undefined && added !== '', JSON.stringify(diff.body));
    await versionRow(ids[2]!).getByTestId('version-browse').click();
    await testid('prompt-password').fill(PASSWORD);
    await testid('prompt-submit').click();
    const dialog = testid('browser-dialog');
    await dialog.waitFor();
    assert.match(await dialog.locator('h2').first().innerText(), /Files in the version of /);
    await testid('browse-domains').waitFor({ timeout: 20_000 });
    assert.equal(await testid('browse-password').count(), 0, 'the password given once is used');
    const named = page.locator(`[data-testid="browse-entry"][data-name="${added}"]`);
    await testid('browse-search').fill(added);
    await until(async () => /^0 of 0 shown/.test(await testid('browse-count').innerText()), 'nothing found');
    assert.equal(await named.count(), 0, 'the oldest version does not hold the file added after it');
    // A plist of that version, decrypted and previewed.
    await testid('browse-search').fill('.plist');
    const plist = page
      .locator('[data-testid="browse-entry"][data-type="file"][data-name$=".plist"]')
      .filter({ has: testid('browse-preview') });
    await plist.first().getByTestId('browse-preview').click();
    await testid('browse-preview-box').waitFor({ timeout: 20_000 });
    assert.match(await testid('browse-preview-box').innerText(), /<\?xml|<plist/);
    await shot(page, 'history-browse');
    await testid('browser-close').click();
    await dialog.waitFor({ state: 'detached' });
    // The middle version holds it (its password remembered: not asked again).
    await versionRow(ids[1]!).getByTestId('version-browse').click();
    await testid('browse-domains').waitFor({ timeout: 20_000 });
    assert.equal(await testid('password-prompt').count(), 0);
    await testid('browse-search').fill(added);
    await named.first().waitFor({ timeout: 20_000 });
    await testid('browser-close').click();
    await dialog.waitFor({ state: 'detached' });
  });

  test('Compare with previous uses the password given once; it names the changes', async () => {
    await versionRow(ids[0]!).getByTestId('version-diff').click();
    const diff = versionRow(ids[0]!).getByTestId('diff-result');
    await diff.waitFor({ timeout: 20_000 });
    assert.equal(await testid('password-prompt').count(), 0, 'the password was not asked again');
    assert.match(await diff.getByTestId('diff-counts').innerText(), /added, [1-9]\d* changed, [1-9]\d* removed/);
  });

  test('Pin, then Verify a version', async () => {
    const middle = versionRow(ids[1]!);
    await middle.getByTestId('version-pin').click();
    await middle.getByTestId('pinned-badge').waitFor();
    assert.equal(await middle.getByTestId('version-pin').innerText(), 'Unpin');
    assert.equal((await historyNow()).versions.find((v) => v.id === ids[1])?.pinned, true);
    await middle.getByTestId('version-verify').click();
    const result = middle.getByTestId('verify-result');
    await result.waitFor({ timeout: 30_000 });
    assert.equal(await result.getAttribute('data-ok'), 'yes', await result.innerText());
    await shot(page, 'history-pinned-verified');
  });

  test('Delete the oldest: the dialog says what it frees; it goes and the space figures drop', async () => {
    const before = await phoneRow();
    const oldest = (await historyNow()).versions.find((v) => v.id === ids[2])!;
    assert.ok(oldest.uniqueBytes > 0, 'the oldest holds files no other version has');
    await versionRow(ids[2]!).getByTestId('version-delete').click();
    await testid('delete-version-dialog').waitFor();
    assert.notEqual((await testid('delete-frees').innerText()).trim(), '');
    await shot(page, 'history-delete-confirm');
    await testid('confirm-delete-version').click();
    await versionRow(ids[2]!).waitFor({ state: 'detached', timeout: 15_000 });
    assert.equal(await testid('version-row').count(), 2);
    const after = await phoneRow();
    assert.equal(after.versions?.count, 2);
    assert.ok(after.versions!.bytes < before.versions!.bytes, `${after.versions!.bytes} < ${before.versions!.bytes}`);
    const summary = page.locator(`[data-testid="backup-row"][data-udid="${udid}"] [data-testid="versions-summary"]`);
    await until(async () => /^2 versions · /.test(await summary.innerText()), 'the row shows 2 versions');
    assert.match(await testid('history-summary').innerText(), /^2 versions · /);
    await page
      .locator('.table-wrap')
      .first()
      .evaluate((e) => e.scrollTo(0, 0));
    await shot(page, 'history-after-delete');
  });

  test('Delete… of the current version says the one before it becomes current', async () => {
    await versionRow(ids[0]!).getByTestId('version-delete').click();
    await testid('delete-version-dialog').waitFor();
    assert.match(await testid('delete-becomes-current').innerText(), /becomes the current one/);
    await testid('delete-cancel').click();
    await testid('delete-version-dialog').waitFor({ state: 'detached' });
  });

  test('the current version offers the restore dialog with it as the source', async () => {
    await versionRow(ids[0]!).getByTestId('version-restore').click();
    await testid('restore-dialog').waitFor();
    assert.match(await testid('restore-source').innerText(), /From the version of/);
    await testid('restore-password').waitFor();
    await page.keyboard.press('Escape');
    await testid('restore-dialog').waitFor({ state: 'detached' });
  });

  test('Delete of the whole phone says how many versions and how much space go', async () => {
    await page.locator(`[data-testid="backup-row"][data-udid="${udid}"] [data-testid="delete-button"]`).click();
    await testid('delete-dialog').waitFor();
    assert.match(await testid('delete-versions').innerText(), /All 2 versions .* [\d.,]+ (kB|MB|GB) freed in all/);
    await testid('delete-cancel').click();
    await testid('delete-dialog').waitFor({ state: 'detached' });
  });

  test('a version the history does not name, or a folder the page sent, is refused', async () => {
    const path = (await phoneRow()).path;
    const bad = [
      { path, version: '20000101-000000' },
      { path, version: ids[2] }, // deleted above
      { path: `${bench.backupDir}/.ibackup/versions/${udid}/${ids[1]}`, version: ids[1] },
    ];
    for (const body of bad) {
      for (const route of ['verify', 'delete', 'files', 'archive']) {
        const r = await api.call<{ error: { code: string } }>('POST', `/api/history/${route}`, body);
        assert.equal(r.status, 404, `${route} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      }
    }
    for (const body of bad) {
      const pin = await api.call('POST', '/api/history/pin', { ...body, pinned: true });
      assert.equal(pin.status, 404, `pin ${JSON.stringify(body)}`);
      const restore = await api.call('POST', '/api/history/restore', { ...body, udid, password: PASSWORD });
      assert.equal(restore.status, 404, `restore ${JSON.stringify(body)}`);
    }
    const odd = await api.call('POST', '/api/history/delete', { path, version: '../../etc' });
    assert.equal(odd.status, 400);
    assert.equal((await historyNow()).versions.length, 2, 'nothing was deleted');
  });

  test('Archive a version: a dated copy Finder lists', async () => {
    const middle = versionRow(ids[1]!);
    await middle.getByTestId('version-archive').click();
    await middle.getByTestId('version-note').or(middle.getByTestId('version-error')).waitFor({ timeout: 20_000 });
    assert.match(await middle.getByTestId('version-note').innerText(), /Archived as .*-\d{8}-\d{6}/);
    const listed = (await api.call<BackupsResponse>('GET', '/api/backups')).body.backups;
    assert.equal(listed.filter((b) => b.kind === 'archive' && b.udid === udid).length, 1);
    // An archive has no history: its row names no versions.
    const archive = listed.find((b) => b.kind === 'archive')!;
    const r = await api.call('POST', '/api/history/verify', { path: archive.path, version: ids[1] });
    assert.equal(r.status, 404);
    assert.equal((await historyNow()).versions.length, 2, 'the version stays');
  });

  test('after a password change each version opens with the password it was made with', async () => {
    const next = `${PASSWORD} changed`;
    const r = await api.call('POST', `/api/devices/${udid}/encryption`, {
      action: 'change',
      password: PASSWORD,
      newPassword: next,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // The current backup was re-keyed: the password given before no longer opens it, so it is asked for.
    await versionRow(ids[0]!).getByTestId('version-verify').click();
    await testid('prompt-password').fill(next);
    await shot(page, 'history-new-password');
    await testid('prompt-submit').click();
    const result = versionRow(ids[0]!).getByTestId('verify-result');
    await result.waitFor({ timeout: 30_000 });
    assert.equal(await result.getAttribute('data-ok'), 'yes', await result.innerText());
    // The older version still needs the password it was made with.
    await versionRow(ids[1]!).getByTestId('version-browse').click();
    const asked = testid('prompt-password');
    await asked.or(testid('browse-domains')).waitFor({ timeout: 20_000 });
    if ((await asked.count()) > 0) {
      assert.match(await testid('password-prompt').innerText(), /does not open the version of|password in use then/);
      await asked.fill(PASSWORD);
      await testid('prompt-submit').click();
    }
    await testid('browse-domain').first().waitFor({ timeout: 20_000 });
    await testid('browser-close').click();
    await shot(page, 'history-earlier-password');
  });

  test('Restore… from the older version: a wrong password is refused, the right one restores', async () => {
    const wrong = await api.call<{ error: { code: string } }>('POST', '/api/history/restore', {
      path: (await phoneRow()).path,
      version: ids[1],
      udid,
      password: 'not it',
    });
    assert.equal(wrong.status, 422);
    assert.equal(wrong.body.error.code, 'WRONG_PASSWORD');
    await versionRow(ids[1]!).getByTestId('version-restore').click();
    await testid('restore-dialog').waitFor();
    await testid('restore-password').fill(PASSWORD);
    await testid('restore-submit').click();
    await testid('restore-dialog').waitFor({ state: 'detached', timeout: 20_000 });
    assert.match(await versionRow(ids[1]!).getByTestId('version-note').innerText(), /Restoring .* from this version/);
    await shot(page, 'history-restore-started');
    await testid('backups-close').click();
    await page
      .locator('[data-testid="job-status"][data-kind="restore"][data-state="done"]')
      .waitFor({ timeout: 40_000 });
  });

  test('the page raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
