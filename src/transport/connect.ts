/** Opening and serving sockets at a usbmuxd-style address (unix socket or TCP). */
import net from 'node:net';
import { rm } from 'node:fs/promises';
import { IbackupError } from '../errors.js';
import type { SocketAddress } from './address.js';

export interface ConnectOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Connects to an address. Failures become CONNECTION_CLOSED errors whose `details.errno` says why
 * (ENOENT, ECONNREFUSED, EACCES…), so callers can map them to their own codes.
 */
export function connectSocket(addr: SocketAddress, opts: ConnectOptions = {}): Promise<net.Socket> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new IbackupError('CANCELLED'));
      return;
    }
    const sock =
      addr.kind === 'unix' ? net.connect({ path: addr.path }) : net.connect({ host: addr.host, port: addr.port });
    const timer = setTimeout(
      () => fail(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    const onAbort = (): void => fail(Object.assign(new Error('cancelled'), { code: 'ABORT_ERR' }));
    const cleanup = (): void => {
      clearTimeout(timer);
      sock.off('error', fail);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    function fail(err: NodeJS.ErrnoException): void {
      cleanup();
      sock.destroy();
      if (err.code === 'ABORT_ERR') {
        reject(new IbackupError('CANCELLED'));
        return;
      }
      reject(
        new IbackupError(err.code === 'ETIMEDOUT' ? 'TIMEOUT' : 'CONNECTION_CLOSED', {
          message: `Cannot connect to ${describe(addr)}: ${err.code ?? err.message}.`,
          cause: err,
          details: { errno: err.code ?? 'UNKNOWN', address: describe(addr) },
        }),
      );
    }
    sock.once('error', fail);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => {
      cleanup();
      sock.setNoDelay(true);
      resolve(sock);
    });
  });
}

export function describe(addr: SocketAddress): string {
  return addr.kind === 'unix' ? addr.path : `${addr.host}:${addr.port}`;
}

/**
 * Listens at an address. A stale unix socket file is replaced only when nothing answers on it.
 * Resolves with the server and the real address (the real port when 0 was asked).
 */
export async function listenSocket(
  addr: SocketAddress,
  onConnection: (sock: net.Socket) => void,
): Promise<{ server: net.Server; address: SocketAddress }> {
  if (addr.kind === 'unix') await removeStaleSocket(addr.path);
  const server = net.createServer({ noDelay: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new IbackupError('USAGE', {
          message: `Cannot listen on ${describe(addr)}: ${err.code ?? err.message}.`,
          remedy: 'Choose another address with --listen, or stop the program that uses it.',
          cause: err,
        }),
      ),
    );
    if (addr.kind === 'unix') server.listen(addr.path, () => resolve());
    else server.listen(addr.port, addr.host, () => resolve());
  });
  const bound = server.address();
  const real: SocketAddress =
    addr.kind === 'unix' || bound === null || typeof bound === 'string'
      ? addr
      : { kind: 'tcp', host: addr.host, port: bound.port };
  return { server, address: real };
}

async function removeStaleSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) {
    throw new IbackupError('USAGE', {
      message: `Another program is already listening on ${path}.`,
      remedy: 'Stop it, or choose another address with --listen.',
    });
  }
  await rm(path, { force: true });
}
