/**
 * The history routes (Manage Backups → Show versions): a phone's versions, and per version browse,
 * verify, compare with the version before it, pin, archive, delete and restore. The page names a
 * phone by its row in the backup list and a version by its id; a version is acted on only when
 * the history of a listed phone names it, never by a folder the page sent.
 */
import type { Hono } from 'hono';
import { openBackupView } from '../app/backup-view.js';
import { diffVersions, pinVersion, showHistory, withVersionPassword } from '../app/history.js';
import { archiveBackup, deleteBackup } from '../app/manage.js';
import { verifyBackupAt } from '../app/verify.js';
import { IbackupError } from '../errors.js';
import type {
  HistoryView,
  JobView,
  VersionDiffView,
  VersionFileView,
  VersionFilesResponse,
  VerifyResponse,
} from './api.js';
import { onlyFields, optionalBoolean, optionalPassword, optionalString, readJson } from './body.js';
import { backupsChanged, type Deps } from './deps.js';
import { badField } from './http-errors.js';
import { historyView, phoneRow, pickedVersion, type PickedVersion } from './history-pick.js';
import { startVersionRestore } from './history-restore.js';
import { notInUse, verifyView } from './routes-backups.js';

/** How many files Browse shows at most. */
export const FILES_SHOWN = 500;
/** How many entries of each list Compare shows. */
const DIFF_SHOWN = 20;

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const passwordOf = (password: string | undefined) => (password === undefined ? {} : { password: async () => password });

/** POST /api/history/files: the version's files whose domain/path contains the filter (any case). */
async function files(deps: Deps, raw: Request): Promise<VersionFilesResponse> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'version', 'password', 'filter']);
  const password = optionalPassword(body, 'password');
  const filter = (optionalString(body, 'filter', 500) ?? '').toLowerCase();
  const { version } = await pickedVersion(deps, body);
  const view = await withVersionPassword(version.path, () => openBackupView(version.path, passwordOf(password)));
  try {
    const found: VersionFileView[] = [];
    for (const e of view.entries()) {
      if (e.type !== 'file') continue;
      if (filter !== '' && !`${e.domain}/${e.relativePath}`.toLowerCase().includes(filter)) continue;
      found.push({ domain: e.domain, relativePath: e.relativePath, size: e.size });
    }
    found.sort((a, b) => byName(a.domain, b.domain) || byName(a.relativePath, b.relativePath));
    return { total: found.length, files: found.slice(0, FILES_SHOWN) };
  } finally {
    view.close();
  }
}

/** POST /api/history/verify: the same report as Verify of a listed backup. */
async function verify(deps: Deps, raw: Request): Promise<VerifyResponse> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'version', 'password']);
  const password = optionalPassword(body, 'password');
  const { version } = await pickedVersion(deps, body);
  const report = await withVersionPassword(version.path, () =>
    verifyBackupAt(version.path, { useCache: false, ...passwordOf(password) }),
  );
  return verifyView(report);
}

/** POST /api/history/diff: what changed from the version before this one to this one. */
async function diff(deps: Deps, raw: Request): Promise<VersionDiffView> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'version', 'password']);
  const password = optionalPassword(body, 'password');
  const { row, history, version } = await pickedVersion(deps, body);
  const before = history.versions[history.versions.indexOf(version) + 1];
  if (before === undefined) {
    throw new IbackupError('USAGE', {
      message: `Version ${version.id} is the oldest one: there is no version before it to compare with.`,
      remedy: 'Compare a newer version with the one before it.',
    });
  }
  const d = await withVersionPassword(before.path, () =>
    diffVersions(row.path, before.id, version.id, passwordOf(password)),
  );
  const first = (list: VersionFileView[]): VersionFileView[] =>
    list.slice(0, DIFF_SHOWN).map((e) => ({ domain: e.domain, relativePath: e.relativePath, size: e.size }));
  return {
    from: d.from,
    to: d.to,
    counts: { added: d.added.length, changed: d.changed.length, removed: d.removed.length },
    added: first(d.added),
    changed: first(d.changed),
    removed: first(d.removed),
  };
}

/** POST /api/history/pin: keeps a version whatever the policy, or lets the policy decide again. */
async function pin(deps: Deps, raw: Request): Promise<HistoryView> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'version', 'pinned']);
  const pinned = optionalBoolean(body, 'pinned');
  if (pinned === undefined) throw badField('pinned', 'is missing');
  const { row, version } = await pickedVersion(deps, body);
  await pinVersion(row.path, version.id, pinned);
  return await historyView(await showHistory(row.path));
}

/** POST /api/history/archive and /delete: a version of a phone not in use; then the lists go out again. */
async function manage<T>(deps: Deps, raw: Request, act: (p: PickedVersion) => Promise<T>): Promise<T> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'version']);
  const picked = await pickedVersion(deps, body);
  notInUse(deps, picked.row);
  const r = await act(picked);
  await backupsChanged(deps);
  return r;
}

export function registerHistoryRoutes(app: Hono, deps: Deps): void {
  app.post('/api/history', async (c) => {
    const body = await readJson(c.req.raw);
    onlyFields(body, ['path']);
    return c.json((await historyView(await showHistory((await phoneRow(deps, body)).path))) satisfies HistoryView);
  });
  app.post('/api/history/files', async (c) => c.json(await files(deps, c.req.raw)));
  app.post('/api/history/verify', async (c) => c.json(await verify(deps, c.req.raw)));
  app.post('/api/history/diff', async (c) => c.json(await diff(deps, c.req.raw)));
  app.post('/api/history/pin', async (c) => c.json(await pin(deps, c.req.raw)));
  app.post('/api/history/archive', async (c) => {
    const r = await manage(deps, c.req.raw, ({ version }) => archiveBackup(version.path, deps.roots));
    return c.json({ archive: r.archive });
  });
  app.post('/api/history/delete', async (c) => {
    const r = await manage(deps, c.req.raw, ({ version }) =>
      deleteBackup(version.path, deps.roots, { onlyThisVersion: true }),
    );
    return c.json({ deleted: r.deleted });
  });
  app.post('/api/history/restore', async (c) => {
    const job = await startVersionRestore(deps, c.req.raw);
    return c.json({ job: job.view() } satisfies { job: JobView });
  });
}
