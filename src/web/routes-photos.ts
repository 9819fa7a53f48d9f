/**
 * The photo routes: the phone's library and its iCloud Photos state, copying the originals into a
 * folder as a job with progress, and a backup's photos as a grid (pages of tiles, then each
 * tile's image). A grid is opened for backups the list names only, kept open while it is used
 * (an encrypted one needs its password once) and closed after a few idle minutes.
 */
import type { Hono } from 'hono';
import { backupsUnder } from '../app/open-backup.js';
import { KeyCache } from '../app/password.js';
import { exportDevicePhotos } from '../app/photos-export.js';
import { openPhotoGrid, type PhotoGrid } from '../app/photos-grid.js';
import { photosStatus } from '../app/photos-status.js';
import { IbackupError } from '../errors.js';
import type { JobView, PhotoPageResponse, PhotosStatusView } from './api.js';
import {
  onlyFields,
  optionalBoolean,
  optionalPassword,
  optionalString,
  readJson,
  requiredString,
  type JsonObject,
} from './body.js';
import type { Deps } from './deps.js';
import { badField } from './http-errors.js';
import type { Job } from './jobs.js';
import { ready, unknownBackup } from './routes-devices.js';

const UDID = /^[A-Za-z0-9-]{1,100}$/;
const IDLE_MS = 10 * 60 * 1000;
const MAX_PAGE = 500;

function udidParam(raw: string): string {
  if (!UDID.test(raw)) throw badField('udid', 'is not a device identifier');
  return raw;
}

function count(body: JsonObject, field: string, fallback: number, max: number): number {
  const v = body[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max)
    throw badField(field, `must be a whole number from 0 to ${max}`);
  return v;
}

function sinceOf(body: JsonObject): number | undefined {
  const raw = optionalString(body, 'since', 64);
  if (raw === undefined || raw === '') return undefined;
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  const t = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])).getTime() : Date.parse(raw);
  if (!Number.isFinite(t)) throw badField('since', 'is not a date (YYYY-MM-DD)');
  return t;
}

/** POST /api/devices/:udid/photos/export: the originals on the phone into a folder, as a job. */
async function startExport(deps: Deps, udid: string, raw: Request): Promise<Job> {
  const body = await readJson(raw);
  onlyFields(body, ['out', 'since', 'album', 'edited', 'hidden']);
  const out = requiredString(body, 'out');
  if (!out.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(out)) throw badField('out', 'must be a full folder path');
  const since = sinceOf(body);
  const album = optionalString(body, 'album', 512);
  const edited = optionalBoolean(body, 'edited') === true;
  const hidden = optionalBoolean(body, 'hidden') === true;
  ready(deps, udid);
  const device = deps.monitor.device(udid);
  return deps.jobs.start(deps.monitor.entry(udid).udid, 'photos', 'copying', async (ctl) => {
    const r = await exportDevicePhotos(device, {
      out,
      ...(since === undefined ? {} : { since }),
      ...(album === undefined || album === '' ? {} : { album }),
      edited,
      hidden,
      signal: ctl.signal,
      onProgress: (p) =>
        ctl.progress({
          phase: 'copying',
          percent: p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100,
          bytesDone: p.bytesDone,
          bytesTotal: p.bytesTotal,
          filesDone: p.filesDone,
        }),
    });
    return {
      exported: { copied: r.copied, skipped: r.skipped, notOnDevice: r.notOnDevice, bytes: r.bytes, out: r.out },
    };
  });
}

/** Open grids by backup path, each closed after a while unused. */
class Grids {
  private readonly open = new Map<string, { grid: PhotoGrid; timer: NodeJS.Timeout }>();

  async get(path: string, password: string | undefined): Promise<PhotoGrid> {
    const hit = this.open.get(path);
    if (hit !== undefined && password === undefined) {
      this.touch(path, hit.grid);
      return hit.grid;
    }
    const grid = await openPhotoGrid(path, {
      keyCache: new KeyCache(),
      ...(password === undefined ? {} : { password: async () => password }),
    });
    this.drop(path);
    this.touch(path, grid);
    return grid;
  }

  find(path: string): PhotoGrid | undefined {
    const hit = this.open.get(path);
    if (hit !== undefined) this.touch(path, hit.grid);
    return hit?.grid;
  }

  private touch(path: string, grid: PhotoGrid): void {
    const old = this.open.get(path);
    if (old !== undefined) clearTimeout(old.timer);
    const timer = setTimeout(() => this.drop(path), IDLE_MS);
    timer.unref();
    this.open.set(path, { grid, timer });
  }

  private drop(path: string): void {
    const old = this.open.get(path);
    if (old === undefined) return;
    clearTimeout(old.timer);
    this.open.delete(path);
    old.grid.close();
  }
}

/** A backup the list names (its folders looked at without their sizes: the first page must come fast). */
async function listedPath(deps: Deps, path: string): Promise<string> {
  if (!(await backupsUnder(deps.roots)).some((b) => b.path === path)) throw unknownBackup(path);
  return path;
}

/** POST /api/backups/photos: a page of a listed backup's photos. */
async function photoPage(deps: Deps, grids: Grids, raw: Request): Promise<PhotoPageResponse> {
  const body = await readJson(raw);
  onlyFields(body, ['path', 'password', 'offset', 'limit']);
  const path = await listedPath(deps, requiredString(body, 'path'));
  const offset = count(body, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const limit = count(body, 'limit', 100, MAX_PAGE);
  const grid = await grids.get(path, optionalPassword(body, 'password'));
  return { total: grid.total, offset, items: await grid.page(offset, limit) };
}

export function registerPhotoRoutes(app: Hono, deps: Deps): void {
  const grids = new Grids();
  app.get('/api/devices/:udid/photos', async (c) => {
    const udid = udidParam(c.req.param('udid'));
    // Reading the library goes beside whatever else runs on the phone (it is a few small AFC reads).
    if (!deps.monitor.entry(udid).summary.paired) throw new IbackupError('NOT_PAIRED');
    const s = await photosStatus(deps.monitor.device(udid), { backupRoots: deps.roots });
    return c.json(s satisfies PhotosStatusView);
  });
  app.post('/api/devices/:udid/photos/export', async (c) => {
    const job = await startExport(deps, udidParam(c.req.param('udid')), c.req.raw);
    return c.json({ job: job.view() } satisfies { job: JobView });
  });
  app.post('/api/backups/photos', async (c) => c.json(await photoPage(deps, grids, c.req.raw)));
  app.get('/api/backups/photos/image', async (c) => {
    const path = c.req.query('path') ?? '';
    const id = Number(c.req.query('id'));
    if (!Number.isSafeInteger(id) || id < 0) throw badField('id', 'is not a photo of the grid');
    const grid = grids.find(path);
    if (grid === undefined)
      throw new IbackupError('NOT_FOUND', { message: 'That grid is not open (reload the photos).' });
    const image = await grid.image(id);
    if (image === null) throw new IbackupError('NOT_FOUND', { message: 'That photo has no image in the backup.' });
    return c.body(Buffer.from(image.bytes), 200, {
      'content-type': image.type,
      'cache-control': 'private, max-age=600',
    });
  });
}
