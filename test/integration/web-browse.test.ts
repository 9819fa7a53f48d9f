/**
 * The backup browser's routes against a real backup of the virtual iPhone: domains, a folder a
 * page at a time, a search, a plist previewed as XML, a download of the exact bytes; then the
 * same backup encrypted: refused without its password and with a wrong one, decrypted with the
 * right one; the path rules (traversal, NUL, absolute, a folder the list does not name) and the
 * token rules.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeEncryption } from '../../src/app/encryption.js';
import { startUiServer, type UiServer } from '../../src/web/server.js';
import type { BrowseListResponse } from '../../src/web/api-browse.js';
import { backupInto, pairedDevice, startBench, type Bench } from '../support/bench.js';
import { Api } from '../support/web-api.js';

const PASSWORD = 'browse me 42';

describe('the backup browser routes', { timeout: 90_000 }, () => {
  let bench: Bench;
  let server: UiServer;
  let api: Api;
  let config: string;
  let path = '';

  const list = (body: Record<string, unknown>) => api.post<BrowseListResponse>('/api/browse/list', { path, ...body });
  const file = async (body: Record<string, unknown>): Promise<{ status: number; bytes: Buffer; type: string }> => {
    const r = await fetch(`${api.base}/api/browse/file`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path, ...body }),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: r.status, bytes: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type') ?? '' };
  };

  before(async () => {
    bench = await startBench({
      devices: 1,
      profile: { extends: 'tiny', behaviour: { keyDerivationIterations: 1000 } },
    });
    const device = await pairedDevice(bench, bench.te.udids[0]!);
    path = (await backupInto(device, bench.backupDir)).path;
    config = await mkdtemp(join(tmpdir(), 'ibackup-browse-config-'));
    server = await startUiServer({
      ctx: bench.ctx,
      backupDirs: [bench.backupDir],
      configDir: config,
      log: () => undefined,
    });
    api = new Api(server);
  });

  after(async () => {
    await server?.close().catch(() => undefined);
    await bench?.dispose().catch(() => undefined);
    if (config) await rm(config, { recursive: true, force: true });
  });

  test('domains, a folder, a search, a plist previewed, a download', async () => {
    const top = await list({});
    assert.equal(top.status, 200, JSON.stringify(top.body));
    assert.ok(top.body.domains!.some((d) => d.domain === 'HomeDomain' && d.files > 0));
    const home = await list({ domain: 'HomeDomain', folder: '' });
    assert.ok(home.body.entries!.some((e) => e.name === 'Library' && e.type === 'directory'));
    const found = await list({ search: '.plist' });
    const plist = found.body.entries!.find((e) => e.type === 'file' && e.name.endsWith('.plist') && e.size > 0);
    assert.ok(plist, 'a plist in the backup');
    const preview = await file({ domain: plist.domain, relativePath: plist.relativePath, as: 'preview' });
    assert.equal(preview.status, 200);
    assert.match(preview.bytes.toString('utf8'), /^<\?xml/);
    const download = await file({ domain: plist.domain, relativePath: plist.relativePath, as: 'download' });
    assert.equal(download.bytes.length, plist.size);
    // Extract… the plist's folder: written under <out>/<domain>/<path>, nowhere else.
    const out = join(config, 'extracted');
    const folder = plist.relativePath.slice(0, plist.relativePath.lastIndexOf('/'));
    const x = await api.post<{ filesWritten: number }>('/api/browse/extract', {
      path,
      domain: plist.domain,
      relativePath: folder,
      out,
    });
    assert.equal(x.status, 200, JSON.stringify(x.body));
    assert.ok(x.body.filesWritten >= 1);
    assert.equal((await stat(join(out, plist.domain, plist.relativePath))).size, plist.size);
    for (const bad of [{ out: 'relative/out' }, { out: `${out}\0` }, { relativePath: '../..' }, { domain: '/etc' }]) {
      const r: { status: number } = await api.post('/api/browse/extract', {
        path,
        domain: plist.domain,
        relativePath: folder,
        out,
        ...bad,
      });
      assert.equal(r.status, 400, JSON.stringify(bad));
    }
    // The index lives in a private cache folder of ibackup's own.
    assert.equal((await stat(join(config, 'browse-cache'))).mode & 0o777, 0o700);
  });

  test('the path rules: traversal, NUL, absolute, a backslash, an unlisted folder or file', async () => {
    for (const [domain, relativePath] of [
      ['HomeDomain', '../../../etc/passwd'],
      ['HomeDomain', 'Library/\0x'],
      ['HomeDomain', '/etc/passwd'],
      ['..', 'x'],
      ['HomeDomain', 'Library\\..\\x'],
    ] as const) {
      const r = await file({ domain, relativePath, as: 'download' });
      assert.equal(r.status, 400, `${domain}/${relativePath}: ${r.bytes.toString()}`);
    }
    assert.equal((await list({ domain: 'HomeDomain', folder: '../..' })).status, 400);
    assert.equal((await file({ domain: 'HomeDomain', relativePath: 'no/such/file', as: 'preview' })).status, 404);
    const elsewhere = await api.post('/api/browse/list', { path: '/etc' });
    assert.equal(elsewhere.status, 404);
    const noToken = await api.call('POST', '/api/browse/list', { path }, { auth: false });
    assert.equal(noToken.status, 401);
    const foreign = await api.call(
      'POST',
      '/api/browse/list',
      { path },
      { headers: { origin: 'http://evil.example' } },
    );
    assert.equal(foreign.status, 403);
  });

  test('encrypted: refused without the password and with a wrong one; decrypted with it', async () => {
    const device = await pairedDevice(bench, bench.te.udids[0]!);
    await changeEncryption(device, 'on', { root: bench.backupDir, password: PASSWORD });
    await backupInto(device, bench.backupDir);
    assert.equal((await list({})).status, 400, 'no password');
    const wrong = await list({ password: 'not it' });
    assert.equal(wrong.status, 422);
    assert.equal((wrong.body as unknown as { error: { code: string } }).error.code, 'WRONG_PASSWORD');
    const top = await list({ password: PASSWORD });
    assert.equal(top.status, 200, JSON.stringify(top.body));
    assert.equal(top.body.encrypted, true);
    const found = await list({ password: PASSWORD, search: '.plist' });
    const plist = found.body.entries!.find((e) => e.type === 'file' && e.size > 0);
    assert.ok(plist);
    const preview = await file({
      password: PASSWORD,
      domain: plist.domain,
      relativePath: plist.relativePath,
      as: 'preview',
    });
    assert.match(preview.bytes.toString('utf8'), /^<\?xml/);
    const download = await file({
      password: PASSWORD,
      domain: plist.domain,
      relativePath: plist.relativePath,
      as: 'download',
    });
    assert.equal(download.bytes.length, plist.size, 'the decrypted bytes, not the encrypted blob');
    assert.equal(
      (await file({ password: 'not it', domain: plist.domain, relativePath: plist.relativePath, as: 'download' }))
        .status,
      422,
    );
  });
});
