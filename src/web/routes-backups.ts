/**
 * The backup routes: the list, verify, delete and archive (only of backups the list names, never
 * of a path as the page sent it), and the strength of a new backup password.
 */
import type { Hono } from 'hono';
import { archiveBackup, deleteBackup } from '../app/manage.js';
import { PASSWORD_ADVICE, passwordStrength } from '../app/password-strength.js';
import { verifyBackupAt } from '../app/verify.js';
import type { BackupView, BackupsResponse, StrengthResponse, VerifyResponse } from './api.js';
import { onlyFields, optionalPassword, readJson, requiredString, type JsonObject } from './body.js';
import { backupViews, backupsChanged, type Deps } from './deps.js';
import { badField } from './http-errors.js';
import { busyError } from './jobs.js';
import { unknownBackup } from './routes-devices.js';

const sameUdid = (a: string, b: string): boolean =>
  a.replace(/-/g, '').toLowerCase() === b.replace(/-/g, '').toLowerCase();

export function registerBackupRoutes(app: Hono, deps: Deps): void {
  /** The listed backup at the path the page sent; BACKUP_NOT_FOUND for anything else. */
  const listed = async (body: JsonObject): Promise<BackupView> => {
    const path = requiredString(body, 'path');
    const hit = (await backupViews(deps.roots)).find((b) => b.path === path);
    if (!hit) throw unknownBackup(path);
    return hit;
  };

  /** A backup is left alone while its device backs up or changes its password, and while any restore runs. */
  const notInUse = (b: BackupView): void => {
    for (const d of deps.monitor.snapshot().devices) {
      const job = deps.jobs.runningOn(d.udid);
      if (!job || job.kind === 'trust') continue;
      if (job.kind === 'restore' || sameUdid(d.udid, b.udid)) throw busyError(job);
    }
  };

  app.get('/api/backups', async (c) => {
    return c.json({ backupDir: deps.roots[0] ?? '', backups: await backupViews(deps.roots) } satisfies BackupsResponse);
  });

  app.post('/api/backups/verify', async (c) => {
    const body = await readJson(c.req.raw);
    onlyFields(body, ['path', 'password']);
    const password = optionalPassword(body, 'password');
    const b = await listed(body);
    const report = await verifyBackupAt(b.path, {
      useCache: false,
      ...(password === undefined ? {} : { password: async () => password }),
    });
    const counts: Record<string, number> = {};
    for (const [k, v] of Object.entries(report.counts)) if (typeof v === 'number') counts[k] = v;
    return c.json({
      ok: report.ok,
      counts,
      problems: report.problems.map((p) => ({
        code: p.code,
        message: p.message,
        ...(p.path === undefined ? {} : { path: p.path }),
      })),
    } satisfies VerifyResponse);
  });

  app.post('/api/backups/delete', async (c) => {
    const body = await readJson(c.req.raw);
    onlyFields(body, ['path']);
    const b = await listed(body);
    notInUse(b);
    const r = await deleteBackup(b.path, deps.roots);
    await backupsChanged(deps);
    return c.json({ deleted: r.deleted });
  });

  app.post('/api/backups/archive', async (c) => {
    const body = await readJson(c.req.raw);
    onlyFields(body, ['path']);
    const b = await listed(body);
    notInUse(b);
    const r = await archiveBackup(b.path, deps.roots);
    await backupsChanged(deps);
    return c.json({ archive: r.archive });
  });

  app.post('/api/password-strength', async (c) => {
    const body = await readJson(c.req.raw);
    onlyFields(body, ['password']);
    // An empty password is rated too (the page asks while it is typed).
    const password = body.password === '' ? '' : optionalPassword(body, 'password');
    if (password === undefined) throw badField('password', 'is missing');
    const s = passwordStrength(password);
    const label = s.label.charAt(0).toUpperCase() + s.label.slice(1);
    const suggestions = [...(s.warning ? [s.warning] : []), ...s.suggestions];
    return c.json({ score: s.score, label, suggestions, advice: PASSWORD_ADVICE } satisfies StrengthResponse);
  });
}
