import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { databaseSizes } from '../../src/emulator/content/domains.js';
import { modelConversations } from '../../src/emulator/content/personal-messages.js';
import { builtInProfile } from '../../src/emulator/profile.js';
import type { ConversationsResponse, JobView } from '../../src/web/api.js';
import { startUiServer, type UiServer } from '../../src/web/server.js';
import { makeDemoBackup, type DemoBackup } from '../support/backup-reading.js';
import { Api } from '../support/web-api.js';

const quiet = (): void => undefined;
const spec = builtInProfile('tiny').content;

describe('web api: readable exports of a listed backup', { timeout: 60_000 }, () => {
  let demo: DemoBackup;
  let s: UiServer;
  let api: Api;
  let out: string;

  before(async () => {
    demo = await makeDemoBackup();
    s = await startUiServer({ ctx: demo.ctx, backupDirs: [demo.root], log: quiet });
    api = new Api(s);
    out = mkdtempSync(path.join(tmpdir(), 'ibackup-web-export-'));
  });
  after(async () => {
    await s?.close();
    await demo?.dispose();
    rmSync(out, { recursive: true, force: true });
  });

  async function finished(job: JobView): Promise<JobView> {
    for (let i = 0; i < 200; i++) {
      const r = await api.get<{ job: JobView }>(`/api/jobs/${job.id}`);
      if (r.body.job.state !== 'running') return r.body.job;
      await new Promise((done) => setTimeout(done, 50));
    }
    throw new Error('the export job did not end');
  }

  test('the conversation picker lists the backup, and one conversation is exported with progress and warnings', async () => {
    const list = await api.post<ConversationsResponse>('/api/backups/conversations', { path: demo.dir });
    assert.equal(list.status, 200);
    const model = modelConversations(spec.seed, databaseSizes(spec.files), 17);
    assert.equal(list.body.conversations.length, model.chats.length);
    const group = list.body.conversations.find((c) => c.title.startsWith('Famille'));
    assert.ok(group !== undefined && group.messages > 0);
    const r = await api.post<{ job: JobView }>('/api/backups/export', {
      path: demo.dir,
      kind: 'messages',
      out,
      chat: group.identifier,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const job = await finished(r.body.job);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    assert.equal(job.result?.export?.items, group.messages);
    const pages = readdirSync(path.join(out, 'Messages')).filter((n) => n.endsWith('.html'));
    assert.deepEqual(pages.sort(), ['Famille 👨‍👩‍👧 & amis.html', 'index.html']);
  });

  test('contacts into contacts.vcf in the folder; paths not listed, relative folders and bad kinds are refused', async () => {
    const r = await api.post<{ job: JobView }>('/api/backups/export', { path: demo.dir, kind: 'contacts', out });
    const job = await finished(r.body.job);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    assert.ok(existsSync(path.join(out, 'contacts.vcf')));
    assert.match(readFileSync(path.join(out, 'contacts.vcf'), 'utf8'), /^BEGIN:VCARD\r\nVERSION:3\.0\r\n/);
    const elsewhere = await api.post('/api/backups/export', { path: out, kind: 'calls', out });
    assert.equal(elsewhere.status, 404);
    const relative = await api.post('/api/backups/export', { path: demo.dir, kind: 'calls', out: 'exports' });
    assert.equal(relative.status, 400);
    const kind = await api.post('/api/backups/export', { path: demo.dir, kind: 'photos', out });
    assert.equal(kind.status, 400);
    const format = await api.post('/api/backups/export', { path: demo.dir, kind: 'calls', out, format: '../../x' });
    assert.equal(format.status, 400);
  });
});
