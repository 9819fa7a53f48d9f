/**
 * The backup routes: the list, verify, delete and archive (only of backups the list names, never
 * of a path as the page sent it), and the strength of a new backup password.
 */
import type { Hono } from 'hono';
import { archiveBackup, deleteBackup } from '../app/manage.js';
import { PASSWORD_ADVICE, passwordStrength } from '../app/password-strength.js';
import { verifyBackupAt, type VerifyReport } from '../app/verify.js';
import type { BackupView, BackupsResponse, StrengthResponse, VerifyResponse } from './api.js';
import { onlyFields, optionalPassword, readJson, requiredString, type JsonObject } from './body.js';
import { backupViews, backupsChanged, type Deps } from './deps.js';
import { badField } from './http-errors.js';
import { busyError } from './jobs.js';
import { unknownBackup } from './routes-devices.js';

const sameUdid = (a: string, b: string): boolean =>
  a.replace(/-/g, '').toLowerCase() === b.replace(/-/g, '').toLowerCase();

/** The listed backup at the path the page sent; BACKUP_NOT_FOUND for anything else. */
async function listed(deps: Deps, body: JsonObject): Promise<BackupView> {
  const path = requiredString(body, 'path');
  const hit = (await backupViews(deps.roots)).find((b) => b.path === path);
  if (!hit) throw unknownBackup(path);
  return hit;
}

/** A backup is left alone while its device backs up or changes its password, and while any restore runs. */
export function notInUse(deps: Deps, b: BackupView): void {
  for (const d of deps.monitor.snapshot().devices) {
    const job = deps.jobs.runningOn(d.udid);
    if (!job || job.kind === 'trust') continue;
    if (job.kind === 'restore' || sameUdid(d.udid, b.udid)) throw busyError(job);
  }
}

/** POST /api/backups/verify: the verification report, its counts and problems. */
async function verify(deps: Deps, raw: Request): Promise<VerifyResponse> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'password']);
  const password = optionalPassword(body, 'password');
  const b = await listed(deps, body);
  const report = await verifyBackupAt(b.path, {
    useCache: false,
    ...(password === undefined ? {} : { password: async () => password }),
  });
  return verifyView(report);
}

/** A verification report as the page shows it: its counts and problems. */
export function verifyView(report: VerifyReport): VerifyResponse {
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(report.counts)) if (typeof v === 'number') counts[k] = v;
  return {
    ok: report.ok,
    counts,
    problems: report.problems.map((p) => ({
      code: p.code,
      message: p.message,
      ...(p.path === undefined ? {} : { path: p.path }),
    })),
  };
}

/** POST /api/backups/delete and /archive: a listed backup not in use; then the lists are sent again. */
async function manage<T>(deps: Deps, raw: Request, act: (path: string) => Promise<T>): Promise<T> {
  const body = await readJson(raw);
  onlyFields(body, ['path']);
  const b = await listed(deps, body);
  notInUse(deps, b);
  const r = await act(b.path);
  await backupsChanged(deps);
  return r;
}

/** POST /api/password-strength: how strong a new backup password is, with hints. */
async function strength(raw: Request): Promise<StrengthResponse> {
  const body = await readJson(raw);
  onlyFields(body, ['password']);
  // An empty password is rated too (the page asks while it is typed).
  const password = body.password === '' ? '' : optionalPassword(body, 'password');
  if (password === undefined) throw badField('password', 'is missing');
  const s = passwordStrength(password);
  const label = s.label.charAt(0).toUpperCase() + s.label.slice(1);
  const suggestions = [...(s.warning ? [s.warning] : []), ...s.suggestions];
  return { score: s.score, label, suggestions, advice: PASSWORD_ADVICE };
}

export function registerBackupRoutes(app: Hono, deps: Deps): void {
  app.get('/api/backups', async (c) => {
    return c.json({ backupDir: deps.roots[0] ?? '', backups: await backupViews(deps.roots) } satisfies BackupsResponse);
  });
  app.post('/api/backups/verify', async (c) => c.json(await verify(deps, c.req.raw)));
  app.post('/api/backups/delete', async (c) => {
    const r = await manage(deps, c.req.raw, (path) => deleteBackup(path, deps.roots));
    return c.json({ deleted: r.deleted });
  });
  app.post('/api/backups/archive', async (c) => {
    const r = await manage(deps, c.req.raw, (path) => archiveBackup(path, deps.roots));
    return c.json({ archive: r.archive });
  });
  app.post('/api/password-strength', async (c) => c.json(await strength(c.req.raw)));
}
