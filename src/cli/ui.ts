/**
 * `ibackup ui [--port N] [--no-open]`: starts the local web app on 127.0.0.1, prints its address
 * (with the access token) as one line, opens it in the browser, and runs until Ctrl-C or
 * SIGTERM, which cancel running jobs cleanly before it exits.
 */
import type { Command } from 'commander';
import { IbackupError } from '../errors.js';
import { backupRootsOf, globalsOf, hostContextOf } from './globals.js';
import { backupRoot } from '../app/context.js';

interface UiFlags {
  port?: number;
  open?: boolean;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new IbackupError('USAGE', {
      message: `--port ${v}: not a port number (0-65535).`,
      remedy: 'Give a port from 1024 to 65535, or 0 (or nothing) for any free port.',
    });
  }
  return n;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // A second Ctrl-C while closing ends at once.
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description(
      'the web app: devices, Back Up Now, encryption, restore and backups in the browser (this computer only)',
    )
    .option('--port <n>', 'port on 127.0.0.1 (default: any free port)', parsePort)
    .option('--no-open', 'print the address without opening the browser')
    .action(async (opts: UiFlags, cmd: Command) => {
      const g = globalsOf(cmd);
      const stopped = untilStopped();
      // Loaded on use: the web server and its dependencies are not needed by the other commands.
      const [{ startUiServer }, { default: open }] = await Promise.all([import('../web/server.js'), import('open')]);
      const server = await startUiServer({
        ctx: hostContextOf(g),
        backupDirs: backupRootsOf(g),
        backupDirSource: backupRoot(g.backupDir === undefined ? {} : { backupDir: g.backupDir }).source,
        ...(opts.port === undefined ? {} : { port: opts.port }),
      });
      if (g.json)
        process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port, token: server.token })}\n`);
      else process.stdout.write(`ibackup ui: ${server.url}\n`);
      if (opts.open !== false) {
        const warn = (err: unknown): void => {
          process.stderr.write(
            `Warning: could not open the browser (${err instanceof Error ? err.message : String(err)}); open the address above yourself.\n`,
          );
        };
        open(server.url)
          .then((child) => child.on('error', warn))
          .catch(warn);
      }
      await stopped;
      if (!g.json && !g.quiet) process.stderr.write('Stopping: cancelling running jobs…\n');
      await server.close();
      // Anything left (a browser launcher, a slow device socket) does not keep ibackup running.
      setTimeout(() => process.exit(0), 2_000).unref();
    });
}
