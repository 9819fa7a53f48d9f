/**
 * The export routes: a listed backup's conversations (for the picker), and writing a readable
 * export (contacts, messages, calls, notes, voicemail) into a folder the page names, as a job
 * with progress. Only backups the list names are read, never a path as the page sent it; a
 * backup is left alone while its iPhone backs up or restores.
 */
import path from 'node:path';
import type { Hono } from 'hono';
import { EXPORT_KINDS, exportBackupAt, listConversations, parseSince, type ExportKind } from '../app/export.js';
import type { BackupView, ConversationsResponse, JobView } from './api.js';
import {
  oneOf,
  onlyFields,
  optionalPassword,
  optionalString,
  readJson,
  requiredString,
  type JsonObject,
} from './body.js';
import { backupViews, type Deps } from './deps.js';
import { badField } from './http-errors.js';
import { busyError, type Job } from './jobs.js';
import { unknownBackup } from './routes-devices.js';

const sameUdid = (a: string, b: string): boolean =>
  a.replace(/-/g, '').toLowerCase() === b.replace(/-/g, '').toLowerCase();

async function listed(deps: Deps, body: JsonObject): Promise<BackupView> {
  const path = requiredString(body, 'path');
  const hit = (await backupViews(deps.roots)).find((b) => b.path === path);
  if (!hit) throw unknownBackup(path);
  return hit;
}

/** BUSY while the backup's iPhone backs up, restores or changes its password. */
function idle(deps: Deps, b: BackupView): void {
  for (const d of deps.monitor.snapshot().devices) {
    const job = deps.jobs.runningOn(d.udid);
    if (job && job.kind !== 'trust' && (job.kind === 'restore' || sameUdid(d.udid, b.udid))) throw busyError(job);
  }
}

function absolute(out: string): string {
  if (!out.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(out)) throw badField('out', 'must be a full folder path');
  return out;
}

const FOLDERS: Record<ExportKind, string> = {
  contacts: 'contacts.vcf',
  messages: 'Messages',
  calls: 'calls',
  notes: 'Notes',
  voicemail: 'Voicemail',
};

/** What is written in the chosen folder: contacts.vcf, calls.<format>, or a Messages, Notes or Voicemail folder. */
function targetIn(folder: string, kind: ExportKind, format: string | undefined): string {
  const name = kind === 'calls' ? `calls.${format === undefined || format === '' ? 'csv' : format}` : FOLDERS[kind];
  return path.join(folder, name);
}

/** POST /api/backups/export: writes one kind of export of a listed backup into `out`, as a job. */
async function startExport(deps: Deps, raw: Request): Promise<Job> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'kind', 'out', 'format', 'chat', 'since', 'password']);
  const b = await listed(deps, body);
  const kind: ExportKind = oneOf(body, 'kind', EXPORT_KINDS);
  const out = absolute(requiredString(body, 'out'));
  const format = optionalString(body, 'format', 16);
  if (format !== undefined && format !== '' && !/^[a-z]{2,5}$/.test(format))
    throw badField('format', 'is not a format');
  const chat = optionalString(body, 'chat', 512);
  const sinceRaw = optionalString(body, 'since', 64);
  const since = sinceRaw === undefined || sinceRaw === '' ? undefined : parseSince(sinceRaw);
  const password = optionalPassword(body, 'password');
  idle(deps, b);
  return deps.jobs.start(`export:${b.udid}`, 'export', 'exporting', async (ctl) => {
    const r = await exportBackupAt(
      b.path,
      kind,
      {
        out: targetIn(out, kind, format),
        ...(format === undefined || format === '' ? {} : { format }),
        ...(chat === undefined || chat === '' ? {} : { chat }),
        ...(since === undefined ? {} : { since }),
        signal: ctl.signal,
        onProgress: (p) =>
          ctl.progress({ phase: 'exporting', percent: p.percent, bytesDone: p.bytesDone, filesDone: p.filesDone }),
      },
      password,
    );
    for (const w of r.warnings) ctl.warn(w.message);
    return { export: { kind: r.kind, items: r.items, files: r.files.length, out: r.out, format: r.format } };
  });
}

/** POST /api/backups/conversations: the conversations of a listed backup, newest first. */
async function conversations(deps: Deps, raw: Request): Promise<ConversationsResponse> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'password']);
  const b = await listed(deps, body);
  return { conversations: await listConversations(b.path, optionalPassword(body, 'password')) };
}

export function registerExportRoutes(app: Hono, deps: Deps): void {
  app.post('/api/backups/conversations', async (c) => c.json(await conversations(deps, c.req.raw)));
  app.post('/api/backups/export', async (c) => {
    const job = await startExport(deps, c.req.raw);
    return c.json({ job: job.view() } satisfies { job: JobView });
  });
}
