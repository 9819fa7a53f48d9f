/**
 * The backup browser's routes (shapes in api-browse.ts). A request names a listed backup (or a
 * version its history names); the server opens it once per password and keeps a few open, then
 * serves its domains, a folder a page at a time, a search, and a file's bytes — only entries the
 * backup lists, with domain and path checked as `files extract` checks them.
 */
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import { checkBackupPath, openBrowse, plistAsText, type BrowseSession, type IndexRow } from '../app/browse.js';
import type { BrowseEntryView, BrowseExtractResponse, BrowseListResponse } from './api-browse.js';
import { type JsonObject, onlyFields, optionalPassword, readJson, requiredString } from './body.js';
import { backupViews, type Deps } from './deps.js';
import { badField } from './http-errors.js';
import { pickedVersion } from './history-pick.js';
import { unknownBackup } from './routes-devices.js';

const PAGE = 200;
const KEEP_OPEN = 4;
const TARGET_FIELDS = ['path', 'version', 'password'];

/** The folder the request names: a listed backup, or a version its history names. */
async function targetDir(deps: Deps, body: JsonObject): Promise<string> {
  if (body.version !== undefined) return (await pickedVersion(deps, body)).version.path;
  const path = requiredString(body, 'path');
  const row = (await backupViews(deps.roots)).find((b) => b.path === path);
  if (row === undefined) throw unknownBackup(path);
  return row.path;
}

/** Open backups, by folder and password (a few, the least recently used closed first). */
class Sessions {
  private readonly open = new Map<string, Promise<BrowseSession>>();

  constructor(private readonly cacheDir: string) {}

  get(dir: string, password: string | undefined): Promise<BrowseSession> {
    const key = `${dir}\0${createHash('sha256')
      .update(password ?? '')
      .digest('hex')}`;
    let s = this.open.get(key);
    if (s !== undefined) this.open.delete(key);
    // A backup made again since it was opened is opened again (its list and keys may have changed).
    if (s !== undefined) s = s.then((x) => (x.isCurrent() ? x : (x.close(), this.opened(dir, password))));
    else s = this.opened(dir, password);
    this.open.set(key, s);
    s.catch(() => this.open.delete(key));
    while (this.open.size > KEEP_OPEN) {
      const [oldest, gone] = this.open.entries().next().value as [string, Promise<BrowseSession>];
      this.open.delete(oldest);
      void gone.then((x) => x.close()).catch(() => undefined);
    }
    return s;
  }

  private opened(dir: string, password: string | undefined): Promise<BrowseSession> {
    return openBrowse(dir, { cacheDir: this.cacheDir, ...(password === undefined ? {} : { password }) });
  }

  closeAll(): void {
    for (const s of this.open.values()) void s.then((x) => x.close()).catch(() => undefined);
    this.open.clear();
  }
}

function entryView(r: IndexRow): BrowseEntryView {
  return { ...r, modified: r.mtime === null ? null : new Date(r.mtime * 1000).toISOString() };
}

function offsetOf(body: JsonObject): number {
  const v = body.offset ?? 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1e9)
    throw badField('offset', 'is not a page start');
  return v;
}

function optionalText(body: JsonObject, field: string): string | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 4096) throw badField(field, 'must be a string of at most 4096 characters');
  return v;
}

async function list(deps: Deps, sessions: Sessions, body: JsonObject): Promise<BrowseListResponse> {
  onlyFields(body, [...TARGET_FIELDS, 'domain', 'folder', 'search', 'offset']);
  const offset = offsetOf(body);
  const [domain, folder, search] = [
    optionalText(body, 'domain'),
    optionalText(body, 'folder'),
    optionalText(body, 'search'),
  ];
  if (domain !== undefined) checkBackupPath('domain', domain, false);
  if (folder !== undefined) checkBackupPath('folder', folder, true);
  const s = await sessions.get(await targetDir(deps, body), optionalPassword(body, 'password'));
  const started = performance.now();
  const base = { encrypted: s.encrypted, offset };
  if (search !== undefined) {
    const page = s.search(search, offset, PAGE);
    return { ...base, entries: page.rows.map(entryView), total: page.total, tookMs: performance.now() - started };
  }
  if (domain === undefined) {
    const domains = s.domains();
    return { ...base, domains, total: domains.length, tookMs: performance.now() - started };
  }
  const page = s.children(domain, folder ?? '', offset, PAGE);
  return { ...base, entries: page.rows.map(entryView), total: page.total, tookMs: performance.now() - started };
}

const TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  txt: 'text/plain; charset=utf-8',
  log: 'text/plain; charset=utf-8',
  json: 'text/plain; charset=utf-8',
  xml: 'text/plain; charset=utf-8',
  csv: 'text/plain; charset=utf-8',
};

async function bytesOf(chunks: AsyncGenerator<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

/** POST /api/browse/file: the file's bytes; a preview of a plist is its XML text. */
async function file(deps: Deps, sessions: Sessions, raw: Request): Promise<Response> {
  const body = await readJson(raw);
  onlyFields(body, [...TARGET_FIELDS, 'domain', 'relativePath', 'as']);
  const domain = checkBackupPath('domain', requiredString(body, 'domain', 1024), false);
  const rel = checkBackupPath('path', requiredString(body, 'relativePath', 4096), false);
  const as = requiredString(body, 'as', 10);
  if (as !== 'preview' && as !== 'download') throw badField('as', 'must be "preview" or "download"');
  const s = await sessions.get(await targetDir(deps, body), optionalPassword(body, 'password'));
  const { chunks } = s.read(domain, rel);
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  const data = await bytesOf(chunks);
  const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
  if (as === 'download') {
    headers['content-type'] = 'application/octet-stream';
    headers['content-disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(name)}`;
    return new Response(data, { headers });
  }
  const plist = ext === 'plist' ? plistAsText(data) : null;
  headers['content-type'] = plist === null ? (TYPES[ext] ?? 'application/octet-stream') : 'text/plain; charset=utf-8';
  return new Response(plist ?? data, { headers });
}

/** POST /api/browse/extract: a file or folder written (decrypted) into a folder of this computer. */
async function extract(deps: Deps, sessions: Sessions, body: JsonObject): Promise<BrowseExtractResponse> {
  onlyFields(body, [...TARGET_FIELDS, 'domain', 'relativePath', 'out']);
  const domain = checkBackupPath('domain', requiredString(body, 'domain', 1024), false);
  const rel = checkBackupPath('path', optionalText(body, 'relativePath') ?? '', true);
  const out = requiredString(body, 'out', 4096);
  if (out.includes('\0') || (!out.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(out)))
    throw badField('out', 'must be a full folder path');
  const s = await sessions.get(await targetDir(deps, body), optionalPassword(body, 'password'));
  const r = await s.extract(domain, rel, out);
  return { out: r.out, filesWritten: r.filesWritten, bytesWritten: r.bytesWritten, skipped: r.skipped.length };
}

export function registerBrowseRoutes(app: Hono, deps: Deps, cacheDir: string): { close(): void } {
  const sessions = new Sessions(cacheDir);
  app.post('/api/browse/list', async (c) => c.json(await list(deps, sessions, await readJson(c.req.raw))));
  app.post('/api/browse/file', (c) => file(deps, sessions, c.req.raw));
  app.post('/api/browse/extract', async (c) => c.json(await extract(deps, sessions, await readJson(c.req.raw))));
  return { close: () => sessions.closeAll() };
}
