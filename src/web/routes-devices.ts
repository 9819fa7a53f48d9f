/**
 * The device routes: the live list, "Trust This Computer", Back Up Now, "Encrypt local backup"
 * and Restore Backup. The long ones run as jobs; the encryption change answers when it is done.
 */
import type { Hono } from 'hono';
import { backupDevice, type BackupProgress } from '../app/backup.js';
import { changeEncryption } from '../app/encryption.js';
import { checkBackupPassword, KeyCache } from '../app/password.js';
import { restoreDevice } from '../app/restore.js';
import { IbackupError } from '../errors.js';
import type { EncryptionRequest, EncryptionResponse, JobView } from './api.js';
import { oneOf, onlyFields, optionalBoolean, optionalPassword, readJson, requiredString } from './body.js';
import { backupViews, type Deps } from './deps.js';
import { badField } from './http-errors.js';
import { busyError, type Job, type JobControl } from './jobs.js';

const UDID = /^[A-Za-z0-9-]{1,100}$/;

function udidParam(raw: string): string {
  if (!UDID.test(raw)) throw badField('udid', 'is not a device identifier');
  return raw;
}

/** A progress event of app/backup or app/restore as a job update (a restore says "restoring"). */
function reportProgress(ctl: JobControl, p: BackupProgress, restoring = false): void {
  ctl.progress({
    phase: restoring && p.phase === 'backing-up' ? 'restoring' : p.phase,
    ...(p.percent === undefined ? {} : { percent: p.percent }),
    bytesDone: p.bytesDone,
    ...(p.bytesTotal === undefined ? {} : { bytesTotal: p.bytesTotal }),
    filesDone: p.filesDone,
  });
}

/** The device must be connected, not busy, and trusted. */
export function ready(deps: Deps, udid: string): void {
  const entry = deps.monitor.entry(udid);
  const busy = deps.jobs.runningOn(entry.udid);
  if (busy) throw busyError(busy);
  if (!entry.summary.paired) {
    throw new IbackupError('NOT_PAIRED', {
      message: 'This computer is not trusted by the iPhone yet.',
      remedy: 'Unlock the iPhone, press Trust here and tap "Trust" on the iPhone.',
    });
  }
}

/** The size of the phone's previous complete backup (what a new one is told against), or null. */
async function previousSize(deps: Deps, udid: string): Promise<number | null> {
  const rows = await backupViews(deps.roots).catch(() => []);
  const last = rows.find((b) => b.lastComplete && b.udid.toLowerCase() === udid.toLowerCase());
  return last !== undefined && last.sizeBytes > 0 ? last.sizeBytes : null;
}

/** POST /api/devices/:udid/backup: Back Up Now as a job. */
async function startBackup(deps: Deps, udid: string, raw: Request): Promise<Job> {
  const body = await readJson(raw);
  onlyFields(body, ['full', 'verify', 'password']);
  const full = optionalBoolean(body, 'full') === true;
  const verify = optionalBoolean(body, 'verify') === true;
  const password = optionalPassword(body, 'password');
  ready(deps, udid);
  const device = deps.monitor.device(udid);
  const root = deps.roots[0] as string;
  return deps.jobs.start(deps.monitor.entry(udid).udid, 'backup', 'preparing', async (ctl) => {
    const expected = await previousSize(deps, device.udid);
    if (expected !== null) ctl.progress({ bytesExpected: expected });
    const r = await backupDevice(device, {
      root,
      full,
      verify,
      // The password (for --verify of an encrypted backup) stays in this closure: never stored or sent back.
      unlock: { keyCache: new KeyCache(), ...(password === undefined ? {} : { password: async () => password }) },
      signal: ctl.signal,
      onProgress: (p) => reportProgress(ctl, p),
      onWarning: (m) => ctl.warn(m),
    });
    return {
      path: r.path,
      date: r.date,
      sizeBytes: r.sizeBytes,
      full: r.full,
      encrypted: r.encrypted,
      verified: r.verified,
      photos: r.photos ?? null,
    };
  });
}

/** The encryption request, each password present exactly when the action needs it. */
async function encryptionRequest(
  raw: Request,
): Promise<Required<Pick<EncryptionRequest, 'action'>> & EncryptionRequest> {
  const body = await readJson(raw);
  onlyFields(body, ['action', 'password', 'newPassword']);
  const action = oneOf(body, 'action', ['on', 'off', 'change'] as const);
  const password = optionalPassword(body, 'password');
  const newPassword = optionalPassword(body, 'newPassword');
  if (action !== 'on' && password === undefined) throw badField('password', 'is missing (the current backup password)');
  if (action !== 'off' && newPassword === undefined)
    throw badField('newPassword', 'is missing (the new backup password)');
  if (action === 'on' && password !== undefined)
    throw badField('password', 'is not expected when turning encryption on');
  if (action === 'off' && newPassword !== undefined)
    throw badField('newPassword', 'is not expected when turning encryption off');
  return {
    action,
    ...(password === undefined ? {} : { password }),
    ...(newPassword === undefined ? {} : { newPassword }),
  };
}

/** POST /api/devices/:udid/encryption: runs as a job (the device is busy meanwhile), answers when done. */
async function changeEncryptionNow(deps: Deps, udid: string, raw: Request): Promise<EncryptionResponse> {
  const { action, password, newPassword } = await encryptionRequest(raw);
  ready(deps, udid);
  const device = deps.monitor.device(udid);
  const job = deps.jobs.start(deps.monitor.entry(udid).udid, 'encryption', 'changing', async (ctl) => {
    const r = await changeEncryption(device, action, {
      root: deps.roots[0] as string,
      password: (action === 'on' ? newPassword : password) as string,
      ...(action === 'change' ? { newPassword: newPassword as string } : {}),
      signal: ctl.signal,
      onPasscodePrompt: (shown) => ctl.progress({ phase: shown ? 'waiting-for-passcode' : 'changing' }),
    });
    deps.monitor.encryptionChanged(device.udid, r.encryption);
    return { encrypted: r.encryption };
  });
  await job.done;
  if (job.state !== 'done') throw job.cause ?? new IbackupError('CANCELLED');
  return { udid: device.udid, encryption: job.result?.encrypted === true };
}

/** POST /api/devices/:udid/restore: a listed complete backup, its password checked first; then a job. */
async function startRestore(deps: Deps, udid: string, raw: Request): Promise<Job> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'password']);
  const path = requiredString(body, 'path');
  const password = optionalPassword(body, 'password');
  ready(deps, udid);
  const listed = (await backupViews(deps.roots)).find((b) => b.path === path);
  if (!listed) throw unknownBackup(path);
  if (!listed.complete) {
    throw new IbackupError('BACKUP_INCOMPLETE', {
      message: 'This backup is not complete, so it cannot be restored.',
      remedy: 'Choose a complete backup, or make a new one.',
    });
  }
  return startRestoreJob(deps, udid, path, password);
}

/**
 * The restore job from a complete backup folder the caller took from the list (or a phone's
 * history); its password is checked first, before the iPhone is touched (the job verifies the
 * whole backup again).
 */
export async function startRestoreJob(
  deps: Deps,
  udid: string,
  path: string,
  password: string | undefined,
): Promise<Job> {
  await checkBackupPassword(path, password === undefined ? {} : { password: async () => password });
  const device = deps.monitor.device(udid);
  return deps.jobs.start(deps.monitor.entry(udid).udid, 'restore', 'preparing', async (ctl) => {
    const r = await restoreDevice(device, {
      backupDir: path,
      ...(password === undefined ? {} : { password: async () => password }),
      signal: ctl.signal,
      onProgress: (p) => reportProgress(ctl, p, true),
    });
    return { path: r.from, encrypted: r.encrypted };
  });
}

export function registerDeviceRoutes(app: Hono, deps: Deps): void {
  const jobReply = (job: Job): { job: JobView } => ({ job: job.view() });

  app.get('/api/devices', (c) => c.json(deps.monitor.snapshot()));

  app.post('/api/devices/:udid/trust', async (c) => {
    const udid = udidParam(c.req.param('udid'));
    onlyFields(await readJson(c.req.raw), []);
    return c.json(jobReply(deps.monitor.startTrust(udid)));
  });
  app.post('/api/devices/:udid/backup', async (c) =>
    c.json(jobReply(await startBackup(deps, udidParam(c.req.param('udid')), c.req.raw))),
  );
  app.post('/api/devices/:udid/encryption', async (c) =>
    c.json(await changeEncryptionNow(deps, udidParam(c.req.param('udid')), c.req.raw)),
  );
  app.post('/api/devices/:udid/restore', async (c) =>
    c.json(jobReply(await startRestore(deps, udidParam(c.req.param('udid')), c.req.raw))),
  );
}

/** A path that GET /api/backups did not list (nothing else may be touched). */
export function unknownBackup(path: string): IbackupError {
  return new IbackupError('BACKUP_NOT_FOUND', {
    message: 'That backup is not one of the backups in the backup folder.',
    remedy: 'Reload the page and choose a backup from the list.',
    details: { path },
  });
}
