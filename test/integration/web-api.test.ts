/**
 * `ibackup ui`'s server against the in-process virtual iPhone: the token, Host and Origin checks,
 * bodies, the page's files, live devices and the trust flow, and backup, cancel, disk full,
 * encryption and restore jobs over the API with their events.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFault } from '../../src/emulator/faults.js';
import type {
  ApiError,
  BackupsResponse,
  DevicesResponse,
  EncryptionResponse,
  JobView,
  ServerEvent,
  VerifyResponse,
} from '../../src/web/api.js';
import { startUiServer, type UiServer } from '../../src/web/server.js';
import { FAST_PROFILE } from '../support/test-emulator.js';
import { startBench, type Bench } from '../support/bench.js';
import { Api, isJobEvent, rawRequest, type EventLog } from '../support/web-api.js';

const quiet = (): void => undefined;

describe('web api: access, bodies and files', { timeout: 60_000 }, () => {
  let b: Bench;
  let s: UiServer;
  let api: Api;
  before(async () => {
    b = await startBench();
    s = await startUiServer({ ctx: b.ctx, backupDirs: [b.backupDir], log: quiet });
    api = new Api(s);
  });
  after(async () => {
    await s?.close();
    await b?.dispose();
  });

  test('the printed address, and 401 without the token; Bearer and the cookie are accepted', async () => {
    assert.equal(s.url, `http://127.0.0.1:${s.port}/?token=${s.token}`);
    assert.match(s.token, /^[A-Za-z0-9_-]{43}$/);
    const none = await api.call<ApiError>('GET', '/api/devices', undefined, { auth: false });
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'UNAUTHORIZED');
    assert.match(none.body.error.remedy ?? '', /Open the address that `ibackup ui` printed/);
    const wrong = await api.call('GET', '/api/devices', undefined, {
      auth: false,
      headers: { authorization: `Bearer ${s.token.slice(0, -1)}x` },
    });
    assert.equal(wrong.status, 401);
    assert.equal((await api.call('GET', '/api/events', undefined, { auth: false })).status, 401);
    const bearer = await api.get<DevicesResponse>('/api/devices');
    assert.equal(bearer.status, 200);
    assert.equal(bearer.body.backupDir, b.backupDir);

    const landing = await api.call('GET', `/?token=${s.token}`, undefined, { auth: false });
    assert.equal(landing.status, 303);
    assert.equal(landing.headers.get('location'), '/');
    const cookie = landing.headers.get('set-cookie') ?? '';
    assert.match(cookie, new RegExp(`^ibackup_ui_${s.port}=${s.token}; `));
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Path=\//);
    const pair = cookie.split(';')[0] as string;
    const withCookie = await api.call<DevicesResponse>('GET', '/api/devices', undefined, {
      auth: false,
      headers: { cookie: `other=1; ${pair}` },
    });
    assert.equal(withCookie.status, 200);
    const events = await api.events({ cookie: pair });
    const first = await events.waitFor((_e): _e is ServerEvent => true, 5_000, 'the first event');
    assert.equal(first.type, 'devices');
    assert.equal(events.names[0], 'devices');
    events.close();

    const badLanding = await api.call('GET', '/?token=nope', undefined, { auth: false });
    assert.equal(badLanding.status, 303);
    assert.equal(badLanding.headers.get('set-cookie'), null);
  });

  test('403 for a foreign Host (DNS rebinding) or Origin, on the page and the API', async () => {
    const token = { authorization: `Bearer ${s.token}` };
    const ok = await rawRequest(s.port, '/api/devices', { host: `localhost:${s.port}`, ...token });
    assert.equal(ok.status, 200);
    for (const host of [
      'evil.example:' + s.port,
      `127.0.0.1:${s.port + 1}`,
      '127.0.0.1',
      `localhost.evil.example:${s.port}`,
    ]) {
      const r = await rawRequest(s.port, '/api/devices', { host, ...token });
      assert.equal(r.status, 403, host);
      assert.equal((JSON.parse(r.body) as ApiError).error.code, 'FORBIDDEN');
      assert.equal((await rawRequest(s.port, '/', { host })).status, 403, `page, ${host}`);
    }
    const evil = await api.call<ApiError>(
      'POST',
      '/api/password-strength',
      { password: 'x' },
      { headers: { origin: 'http://evil.example' } },
    );
    assert.equal(evil.status, 403);
    const samePort = await api.call(
      'POST',
      '/api/password-strength',
      { password: 'x' },
      { headers: { origin: `http://localhost:${s.port}` } },
    );
    assert.equal(samePort.status, 200);
    const otherPort = await api.call('GET', '/api/devices', undefined, {
      headers: { origin: `http://127.0.0.1:${s.port + 1}` },
    });
    assert.equal(otherPort.status, 403);
  });

  test('bodies: bad JSON, not an object, too large, unknown or wrong fields are 400 naming the problem', async () => {
    const udid = b.te.udids[0] as string;
    const bad = await api.call<ApiError>('POST', '/api/password-strength', '{"password": ', {
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'USAGE');
    assert.match(bad.body.error.message, /not valid JSON/);
    assert.equal((await api.post<ApiError>('/api/password-strength', [1])).status, 400);
    const big = await api.post<ApiError>('/api/password-strength', { password: 'x'.repeat(70 * 1024) });
    assert.equal(big.status, 400);
    assert.match(big.body.error.message, /larger than 64 KiB/);
    const extra = await api.post<ApiError>(`/api/devices/${udid}/backup`, { full: true, path: '/etc' });
    assert.equal(extra.status, 400);
    assert.match(extra.body.error.message, /"path"/);
    const wrongType = await api.post<ApiError>(`/api/devices/${udid}/backup`, { full: 'yes' });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.body.error.message, /"full"/);
    const action = await api.post<ApiError>(`/api/devices/${udid}/encryption`, { action: 'maybe' });
    assert.equal(action.status, 400);
    assert.match(action.body.error.message, /"action"/);
    const noPw = await api.post<ApiError>(`/api/devices/${udid}/encryption`, { action: 'on' });
    assert.equal(noPw.status, 400);
    assert.match(noPw.body.error.message, /"newPassword"/);
    const formType = await api.call<ApiError>('POST', '/api/password-strength', 'password=x', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(formType.status, 400);
    assert.equal((await api.post<ApiError>('/api/devices/not%20a%20udid/backup', {})).status, 400);
    assert.equal(
      (await api.post<ApiError>('/api/devices/00000000-0000000000000000/backup', {})).body.error.code,
      'DEVICE_NOT_FOUND',
    );
    assert.equal((await api.get<ApiError>('/api/jobs/00000000-0000-0000-0000-000000000000')).status, 404);
    assert.equal((await api.get<ApiError>('/api/nothing')).status, 404);
    // Only listed backups may be touched.
    for (const route of ['delete', 'archive', 'verify']) {
      const r = await api.post<ApiError>(`/api/backups/${route}`, { path: join(b.backupDir, '..') });
      assert.equal(r.status, 404, route);
      assert.equal(r.body.error.code, 'BACKUP_NOT_FOUND');
    }
    const strength = await api.post<{ score: number; label: string; advice: string }>('/api/password-strength', {
      password: 'correct horse battery staple 1987!',
    });
    assert.equal(strength.status, 200);
    assert.ok(strength.body.score >= 3);
    assert.match(strength.body.advice, /password manager/);
    assert.equal((await api.post<{ score: number }>('/api/password-strength', { password: '' })).body.score, 0);
  });

  test('the page: security headers, and nothing outside its folder', async () => {
    const ui = await mkdtemp(join(tmpdir(), 'ibackup-ui-'));
    const other = await startUiServer({
      ctx: b.ctx,
      backupDirs: [b.backupDir],
      log: quiet,
      uiDir: join(ui, 'missing'),
    });
    try {
      const host = { host: `127.0.0.1:${other.port}` };
      const page = await rawRequest(other.port, '/', host);
      assert.equal(page.status, 503);
      assert.match(page.body, /npm run build/);
      assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
      assert.doesNotMatch(String(page.headers['content-security-policy']), /unsafe-inline/);
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
      assert.equal(page.headers['referrer-policy'], 'no-referrer');
    } finally {
      await other.close();
      await rm(ui, { recursive: true, force: true });
    }
    const host = { host: `127.0.0.1:${s.port}` };
    for (const path of [
      '/../package.json',
      '/..%2f..%2fpackage.json',
      '/%2e%2e/%2e%2e/package.json',
      '/assets/..%2f..%2f..%2fpackage.json',
      '/assets/%2e%2e%5c%2e%2e%5cpackage.json',
      '/%00',
      '/.env',
      '//etc/passwd',
    ]) {
      const r = await rawRequest(s.port, path, host);
      assert.ok(r.status === 404 || r.status === 403 || r.status === 400, `${path}: ${r.status}`);
      assert.doesNotMatch(r.body, /"name": "ibackup"|root:/, path);
    }
    const index = await rawRequest(s.port, '/', host);
    if (index.status === 200) {
      assert.match(String(index.headers['content-type']), /text\/html/);
      assert.equal(index.headers['cache-control'], 'no-store');
    } else assert.equal(index.status, 503);
  });
});

describe('web api: live devices and the trust flow', { timeout: 60_000 }, () => {
  test('a device without a pairing gets the trust dialog (pending → trusted); an attached device appears live', async () => {
    const b = await startBench();
    let s: UiServer | undefined;
    let events: EventLog | undefined;
    try {
      const udid = b.te.udids[0] as string;
      b.te.emu.find(udid).setTrust({ mode: 'pending', seconds: 2 });
      s = await startUiServer({ ctx: b.ctx, backupDirs: [b.backupDir], log: quiet });
      const api = new Api(s);
      events = await api.events();
      const pending = await events.waitForDevice(
        udid,
        (d) => d.trust === 'pending' && d.job?.kind === 'trust',
        10_000,
        'pending trust',
      );
      const view = (pending as Extract<ServerEvent, { type: 'devices' }>).devices.find((d) => d.udid === udid);
      assert.equal(view?.backupBlocked, 'Unlock your iPhone and tap Trust on it first.');
      assert.equal(view?.serial, null);
      assert.ok(view?.name, 'the name is known before trust');
      const jobId = view?.job?.id as string;
      const blocked = await api.post<ApiError>(`/api/devices/${udid}/backup`, {});
      assert.equal(blocked.status, 409);
      await events.waitFor(
        (e): e is ServerEvent => isJobEvent(jobId)(e) && e.job.state === 'done',
        15_000,
        'the trust job to end',
      );
      const phases = events.events.filter(isJobEvent(jobId)).map((e) => e.job.phase);
      assert.deepEqual([...new Set(phases)], ['waiting-for-trust', 'trusted']);
      await events.waitForDevice(
        udid,
        (d) =>
          d.trust === 'trusted' &&
          d.serial !== null &&
          d.capacityBytes !== null &&
          d.encryption === false &&
          d.backupBlocked === null,
        15_000,
        'the trusted device with its values',
      );

      // Plugging in another iPhone: a `devices` event lists it, without a reload.
      const from = events.events.length;
      const second = await b.te.emu.attach();
      await events.waitForDevice(second.udid, () => true, 10_000, 'the attached device', from);
      await events.waitForDevice(second.udid, (d) => d.trust === 'trusted', 15_000, 'the second device trusted', from);
      b.te.emu.detach(second.udid);
      const gone = events.events.length;
      await events.waitFor(
        (e): e is ServerEvent => e.type === 'devices' && !e.devices.some((d) => d.udid === second.udid),
        10_000,
        'the detached device gone',
        gone,
      );
    } finally {
      events?.close();
      await s?.close();
      await b.dispose();
    }
  });

  test('"Don\'t Trust": the device says denied; Trust starts the flow again', async () => {
    const b = await startBench();
    let s: UiServer | undefined;
    try {
      const udid = b.te.udids[0] as string;
      b.te.emu.find(udid).setTrust({ mode: 'deny' });
      s = await startUiServer({ ctx: b.ctx, backupDirs: [b.backupDir], log: quiet });
      const api = new Api(s);
      const events = await api.events();
      await events.waitForDevice(
        udid,
        (d) => d.trust === 'denied' && d.problem?.code === 'TRUST_DENIED',
        15_000,
        'denied',
      );
      b.te.emu.find(udid).setTrust({ mode: 'accept' });
      const r = await api.post<{ job: JobView }>(`/api/devices/${udid}/trust`);
      assert.equal(r.status, 200);
      assert.equal(r.body.job.kind, 'trust');
      await events.waitForDevice(
        udid,
        (d) => d.trust === 'trusted' && d.problem === null,
        15_000,
        'trusted after Trust',
      );
      events.close();
    } finally {
      await s?.close();
      await b.dispose();
    }
  });
});

describe('web api: backup, cancel, disk full, encryption and restore jobs', { timeout: 120_000 }, () => {
  let b: Bench;
  let s: UiServer;
  let api: Api;
  let events: EventLog;
  let udid: string;
  /** Starts a job and waits for its final event. */
  const runJob = async (
    path: string,
    body: unknown,
    timeoutMs = 30_000,
  ): Promise<{ start: JobView; end: JobView; seen: JobView[] }> => {
    const r = await api.post<{ job: JobView }>(path, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const id = r.body.job.id;
    const last = await events.waitFor(
      (e): e is Extract<ServerEvent, { type: 'job' }> => isJobEvent(id)(e) && e.job.state !== 'running',
      timeoutMs,
      `job ${path} to end`,
    );
    return { start: r.body.job, end: last.job, seen: events.events.filter(isJobEvent(id)).map((e) => e.job) };
  };
  const runtime = () => {
    const rt = b.te.emu.find(udid).runtime;
    assert.ok(rt);
    return rt;
  };

  before(async () => {
    b = await startBench({ profile: FAST_PROFILE });
    udid = b.te.udids[0] as string;
    s = await startUiServer({ ctx: b.ctx, backupDirs: [b.backupDir], log: quiet });
    api = new Api(s);
    events = await api.events();
    await events.waitForDevice(
      udid,
      (d) => d.trust === 'trusted' && d.backupBlocked === null,
      20_000,
      'the device trusted',
    );
  });
  after(async () => {
    events?.close();
    await s?.close();
    await b?.dispose();
  });

  let first: JobView;
  test('Back Up Now: progress events with several percentages, the passcode prompt, busy while it runs, then Last Backup and the list', async () => {
    b.te.emu.find(udid).passcode = { mode: 'after', seconds: 1 };
    runtime().faults.set(parseFault('throttle', { mbps: 24 }));
    const r = await api.post<{ job: JobView }>(`/api/devices/${udid}/backup`, {});
    assert.equal(r.status, 200);
    const again = await api.post<ApiError>(`/api/devices/${udid}/backup`, {});
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'BUSY');
    const id = r.body.job.id;
    const end = await events.waitFor(
      (e): e is Extract<ServerEvent, { type: 'job' }> => isJobEvent(id)(e) && e.job.state !== 'running',
      40_000,
      'the backup to end',
    );
    b.te.emu.find(udid).passcode = { mode: 'enter' };
    assert.equal(end.job.state, 'done', JSON.stringify(end.job.error));
    first = end.job;
    const seen = events.events.filter(isJobEvent(id)).map((e) => e.job);
    assert.ok(
      seen.some((j) => j.waitingForPasscode && j.phase === 'waiting-for-passcode'),
      'the passcode prompt was shown',
    );
    const percents = new Set(seen.map((j) => j.percent).filter((p) => p !== null));
    assert.ok(percents.size >= 3, `percentages: ${[...percents].join(', ')}`);
    assert.ok(
      seen.some((j) => j.bytesPerSecond !== null && j.bytesPerSecond > 0),
      'speed',
    );
    // Time left only from a steady pace: never before the first percent, never at the end.
    assert.ok(
      seen.every((j) => j.etaSeconds === null || (j.percent !== null && j.percent > 0 && j.percent < 100)),
      'no time left without a pace',
    );
    assert.ok(
      seen.length <=
        12 * Math.max(1, (Date.parse(end.job.finishedAt ?? '') - Date.parse(end.job.startedAt)) / 1000) + 6,
      `too many events: ${seen.length}`,
    );
    assert.equal(end.job.result?.path, join(b.backupDir, udid));
    assert.equal(end.job.result?.full, true);
    assert.ok(end.job.filesDone > 0 && end.job.bytesDone > 0);
    await events.waitFor(
      (e): e is ServerEvent => e.type === 'backups' && e.backups.some((x) => x.path === end.job.result?.path),
      10_000,
      'a backups event',
    );
    await events.waitForDevice(
      udid,
      (d) => d.lastBackup === end.job.result?.date && d.job === null,
      10_000,
      'Last Backup set',
    );
    const list = await api.get<BackupsResponse>('/api/backups');
    const mine = list.body.backups.find((x) => x.path === end.job.result?.path);
    assert.ok(mine?.complete && mine.lastComplete && mine.kind === 'current');
    const job = await api.get<{ job: JobView }>(`/api/jobs/${id}`);
    assert.equal(job.body.job.state, 'done');
  });

  test('verify: the new backup checks out', async () => {
    const r = await api.post<VerifyResponse>('/api/backups/verify', { path: join(b.backupDir, udid) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.ok, true, JSON.stringify(r.body.problems));
    assert.ok((r.body.counts.files ?? 0) > 0);
  });

  test('cancel: the job ends cancelled and the last complete backup stays listed', async () => {
    runtime().faults.set(parseFault('throttle', { mbps: 4 }));
    const r = await api.post<{ job: JobView }>(`/api/devices/${udid}/backup`, { full: true });
    assert.equal(r.status, 200);
    const id = r.body.job.id;
    await events.waitFor((e): e is ServerEvent => isJobEvent(id)(e) && e.job.filesDone >= 2, 20_000, 'files arriving');
    const c = await api.post<{ job: JobView }>(`/api/jobs/${id}/cancel`);
    assert.equal(c.status, 200);
    const end = await events.waitFor(
      (e): e is Extract<ServerEvent, { type: 'job' }> => isJobEvent(id)(e) && e.job.state !== 'running',
      20_000,
      'the cancelled job',
    );
    assert.equal(end.job.state, 'cancelled');
    assert.equal(end.job.error?.code, 'CANCELLED');
    runtime().faults.clear();
    const list = await api.get<BackupsResponse>('/api/backups');
    const kept = list.body.backups.find((x) => x.udid === udid && x.lastComplete);
    assert.ok(kept?.complete, JSON.stringify(list.body.backups));
    assert.equal(kept.date, first.result?.date);
    await events.waitForDevice(
      udid,
      (d) => d.lastBackup === first.result?.date && d.job === null,
      10_000,
      'Last Backup unchanged',
    );
  });

  test('the computer is full: the job fails with DISK_FULL and a remedy', async () => {
    runtime().faults.set(parseFault('host-full'));
    const { end } = await runJob(`/api/devices/${udid}/backup`, { full: true });
    assert.equal(end.state, 'failed');
    assert.equal(end.error?.code, 'DISK_FULL');
    assert.ok((end.error?.remedy ?? '').length > 10);
    await events.waitForDevice(
      udid,
      (d) => d.problem?.code === 'DISK_FULL' && d.backupBlocked === null,
      10_000,
      'the problem shown',
    );
  });

  test('archive the last complete backup, then delete the archive; each sends a backups event', async () => {
    const list = await api.get<BackupsResponse>('/api/backups');
    const last = list.body.backups.find((x) => x.udid === udid && x.lastComplete);
    assert.ok(last);
    const from = events.events.length;
    const a = await api.post<{ archive: string }>('/api/backups/archive', { path: last.path });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.match(a.body.archive, new RegExp(`${udid}-\\d{8}-\\d{6}$`));
    await events.waitFor(
      (e): e is ServerEvent =>
        e.type === 'backups' && e.backups.some((x) => x.path === a.body.archive && x.kind === 'archive'),
      10_000,
      'the archive listed',
      from,
    );
    const d = await api.post<{ deleted: string }>('/api/backups/delete', { path: a.body.archive });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.equal(d.body.deleted, a.body.archive);
    const after = await api.get<BackupsResponse>('/api/backups');
    assert.ok(!after.body.backups.some((x) => x.path === a.body.archive));
    assert.ok(after.body.backups.some((x) => x.path === last.path && x.complete));
  });

  test('encryption on, an encrypted backup, then restore: the password is checked before the iPhone is touched', async () => {
    const on = await api.post<EncryptionResponse>(`/api/devices/${udid}/encryption`, {
      action: 'on',
      newPassword: 'web-secret-1',
    });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    assert.deepEqual(on.body, { udid, encryption: true });
    assert.doesNotMatch(JSON.stringify(events.events), /web-secret-1/);
    await events.waitForDevice(udid, (d) => d.encryption === true && d.job === null, 10_000, 'encryption shown on');
    // From the job's end on, no view of the phone shows the setting it had before.
    const views = events.events.flatMap((e) => (e.type === 'devices' ? e.devices.filter((d) => d.udid === udid) : []));
    const ran = views.findIndex((d) => d.job?.kind === 'encryption');
    const ended = views.findIndex((d, i) => i > ran && d.job === null);
    assert.ok(ran >= 0 && ended > ran, 'the encryption job was shown, then its end');
    assert.deepEqual(
      views.slice(ended).map((d) => d.encryption),
      views.slice(ended).map(() => true),
      'a view after the change showed the old setting',
    );
    const again = await api.post<ApiError>(`/api/devices/${udid}/encryption`, { action: 'on', newPassword: 'x' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'ENCRYPTION_STATE');

    const { end } = await runJob(`/api/devices/${udid}/backup`, {});
    assert.equal(end.state, 'done', JSON.stringify(end.error));
    assert.equal(end.result?.encrypted, true);
    const path = end.result?.path as string;

    const restores = (): number => [...(b.te.emu.find(udid).runtime?.runs ?? [])].length;
    const wrong = await api.post<ApiError>(`/api/devices/${udid}/restore`, { path, password: 'not-it' });
    assert.equal(wrong.status, 422);
    assert.equal(wrong.body.error.code, 'WRONG_PASSWORD');
    assert.equal(restores(), 0);
    const none = await api.post<ApiError>(`/api/devices/${udid}/restore`, { path });
    assert.equal(none.status, 400);
    assert.equal(none.body.error.code, 'PASSWORD_REQUIRED');
    const devices = await api.get<DevicesResponse>('/api/devices');
    assert.equal(devices.body.devices.find((d) => d.udid === udid)?.job, null);

    const ok = await runJob(`/api/devices/${udid}/restore`, { path, password: 'web-secret-1' }, 60_000);
    assert.equal(ok.end.state, 'done', JSON.stringify(ok.end.error));
    assert.equal(ok.end.result?.path, path);
    assert.ok(ok.seen.some((j) => j.phase === 'restoring'));

    // "Verify the backup before it counts": with the password, the new backup is verified first.
    const verified = await runJob(`/api/devices/${udid}/backup`, { verify: true, password: 'web-secret-1' }, 60_000);
    assert.equal(verified.end.state, 'done', JSON.stringify(verified.end.error));
    assert.equal(verified.end.result?.verified, true);
    assert.ok(
      verified.seen.some((j) => j.phase === 'verifying'),
      'the verifying phase is shown',
    );
    const wrongVerify = await runJob(`/api/devices/${udid}/backup`, { verify: true, password: 'not-it' }, 60_000);
    assert.equal(wrongVerify.end.error?.code, 'WRONG_PASSWORD', JSON.stringify(wrongVerify.end.error));
    const afterWrong = (await api.get<BackupsResponse>('/api/backups')).body.backups.filter((x) => x.udid === udid);
    assert.equal(
      afterWrong.find((x) => x.lastComplete)?.date,
      verified.end.result?.date,
      'a run that could not be verified does not count',
    );
    assert.doesNotMatch(JSON.stringify(events.events), /web-secret-1/);
  });
});
