/**
 * The local web app's server (`ibackup ui`): the page (dist/web/ui/) and the JSON API of
 * src/web/api.ts, on 127.0.0.1 only, behind a random token (see auth.ts).
 *
 * Programmatic entry (the CLI and the browser tests use it):
 *
 *   startUiServer({
 *     ctx?: HostContext,          // usbmuxd client + pair records (else built from `host`)
 *     host?: HostOptions,         // --usbmuxd etc., when no ctx is given
 *     backupDirs: string[],       // backup roots; the first is where backups go
 *     port?: number,              // default 0: any free port
 *     token?: string,             // default: 32 random bytes, base64url
 *     log?: (line: string) => void, // server-side problems (never bodies or passwords); default stderr
 *     uiDir?: string,             // the built page (default dist/web/ui/)
 *     autoTrust?: boolean,        // start "Trust This Computer" for an untrusted device (default true)
 *     trustTimeoutMs?: number,    // how long a trust job waits for the owner (default 2 min)
 *     backupDirSource?: 'option' | 'env' | 'setting' | 'default', // where backupDirs[0] came from
 *     configDir?: string,         // ibackup's own folder, where Change… saves the backup folder
 *   }): Promise<{ url, port, token, close(): Promise<void> }>
 *
 * `url` is `http://127.0.0.1:<port>/?token=<token>`; `close()` cancels running jobs (a cancelled
 * backup leaves the last complete backup as it was), ends the event streams and stops listening.
 */
import type { Server } from 'node:http';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { ibackupConfigDir } from '../app-dirs.js';
import { openHost, type HostContext, type HostOptions } from '../app/context.js';
import { IbackupError } from '../errors.js';
import { newToken, requireToken, sameOriginOnly, tokenLanding } from './auth.js';
import { backupsChanged, type Deps } from './deps.js';
import { DevicesMonitor } from './devices-monitor.js';
import { apiError, statusOf, type Log } from './http-errors.js';
import { JobManager } from './jobs.js';
import { registerBackupRoutes } from './routes-backups.js';
import { registerDeviceRoutes } from './routes-devices.js';
import { registerHistoryRoutes } from './routes-history.js';
import { registerExportRoutes } from './routes-export.js';
import { registerJobRoutes } from './routes-jobs.js';
import { registerPhotoRoutes } from './routes-photos.js';
import { registerOptionRoutes } from './routes-options.js';
import { registerSettingsRoutes, type BackupFolderSetting } from './routes-settings.js';
import { registerBrowseRoutes } from './routes-browse.js';
import { EventBus } from './sse.js';
import { defaultUiDir, securityHeaders, serveUi } from './static.js';

export interface UiServerOptions {
  ctx?: HostContext;
  host?: HostOptions;
  backupDirs: readonly string[];
  port?: number;
  token?: string;
  log?: Log;
  uiDir?: string;
  autoTrust?: boolean;
  trustTimeoutMs?: number;
  /** Where the first backup folder came from (default 'option'); Change… on the page saves the choice. */
  backupDirSource?: BackupFolderSetting['source'];
  /** ibackup's own folder, where the chosen backup folder is saved (default the OS's). */
  configDir?: string;
}

export interface UiServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** The event bus, the jobs and the device monitor, wired to each other. */
function wire(opts: UiServerOptions, ctx: HostContext, log: Log): Deps {
  const bus = new EventBus();
  const jobs = new JobManager({
    publish: (job) => bus.publish({ type: 'job', job }),
    onChange: () => monitor.publish(),
    onEnd: (job) => {
      monitor.jobEnded(job);
      if (job.kind !== 'trust') void backupsChanged(deps);
    },
    log,
  });
  // The job callbacks run only once a job starts, after the monitor exists.
  // One list of roots shared by every part (Change… replaces its contents).
  const roots = [...opts.backupDirs];
  const monitor = new DevicesMonitor({
    ctx,
    roots,
    jobs,
    publish: (e) => bus.publish(e),
    log,
    ...(opts.autoTrust === undefined ? {} : { autoTrust: opts.autoTrust }),
    ...(opts.trustTimeoutMs === undefined ? {} : { trustTimeoutMs: opts.trustTimeoutMs }),
  });
  const deps: Deps = { monitor, jobs, bus, roots, log };
  return deps;
}

/** The routes behind the security headers, the Host/Origin check and the token; the page for the rest. */
function buildApp(deps: Deps, token: string, portNow: () => number, uiDir: string, folder: BackupFolderSetting): Hono {
  const app = new Hono();
  app.use('*', securityHeaders());
  app.use('*', sameOriginOnly(portNow));
  app.use('/api/*', requireToken(token, portNow));
  app.get('/', tokenLanding(token, portNow));
  registerDeviceRoutes(app, deps);
  registerBackupRoutes(app, deps);
  registerHistoryRoutes(app, deps);
  registerJobRoutes(app, deps);
  registerExportRoutes(app, deps);
  registerPhotoRoutes(app, deps);
  registerOptionRoutes(app, deps);
  registerSettingsRoutes(app, deps, folder);
  (deps.closing ??= []).push(registerBrowseRoutes(app, deps, join(folder.configDir, 'browse-cache')).close);
  app.all('/api/*', () => {
    throw new IbackupError('NOT_FOUND');
  });
  app.on(['GET', 'HEAD'], '*', (c) => serveUi(c, uiDir));
  app.notFound((c) => c.json(apiError(new IbackupError('NOT_FOUND')), 404));
  app.onError((err, c) => c.json(apiError(err, deps.log), statusOf(err)));
  return app;
}

/** Listens on 127.0.0.1:`port`; resolves with the port it got (a free one for 0). */
async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        err.code === 'EADDRINUSE'
          ? new IbackupError('USAGE', {
              message: `Port ${port} is already in use.`,
              remedy: 'Choose another one with --port, or leave --port out to use any free port.',
              cause: err,
            })
          : err,
      );
    };
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  return address !== null && typeof address === 'object' ? address.port : port;
}

/** Cancels running jobs, stops the monitor, ends the event streams, stops listening (once). */
function closer(deps: Deps, server: Server): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      await deps.jobs.cancelAll();
      for (const close of deps.closing ?? []) close();
      await deps.monitor.stop();
      deps.bus.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    })();
    return closing;
  };
}

export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  if (opts.backupDirs.length === 0) throw new IbackupError('USAGE', { message: 'The web app needs a backup folder.' });
  const log: Log = opts.log ?? ((line) => process.stderr.write(`ibackup ui: ${line}\n`));
  const token = opts.token ?? newToken();
  const ctx = opts.ctx ?? openHost(opts.host ?? {});
  const uiDir = opts.uiDir ?? defaultUiDir();
  let port = opts.port ?? 0;
  const deps = wire(opts, ctx, log);
  const folder = { source: opts.backupDirSource ?? 'option', configDir: opts.configDir ?? ibackupConfigDir() };
  const server = createAdaptorServer({ fetch: buildApp(deps, token, () => port, uiDir, folder).fetch }) as Server;
  port = await listen(server, port);
  server.on('error', (err) => log(`server: ${err.message}`));
  await deps.monitor.start();
  return { url: `http://127.0.0.1:${port}/?token=${token}`, port, token, close: closer(deps, server) };
}
