/**
 * Who may talk to the local server: only this computer's browser, on the page the server gave.
 *
 * - The server listens on 127.0.0.1 only.
 * - Host must be `127.0.0.1:<port>` or `localhost:<port>` (a foreign name pointing at 127.0.0.1 —
 *   DNS rebinding — gets 403), and an Origin header, when sent, must be that same origin (403).
 * - Every /api/* request needs the random token: `Authorization: Bearer <token>`, or the cookie
 *   set when the page is first opened with `?token=` (HttpOnly, SameSite=Strict); then the
 *   browser is sent to `/` so the token leaves the address bar. Tokens compare in constant time.
 * - The page's own files (the shell, no data) are served without the token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { IbackupError } from '../errors.js';
import { apiError } from './http-errors.js';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison (of digests, so the lengths do not leak either). */
export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined || given.length === 0) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** The cookie's name carries the port, so two servers on this computer do not overwrite each other's. */
export function cookieName(port: number): string {
  return `ibackup_ui_${port}`;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function allowedHosts(port: number): string[] {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (port === 80) hosts.push('127.0.0.1', 'localhost');
  return hosts;
}

const forbidden = (c: Context, what: string): Response =>
  c.json(
    apiError(
      new IbackupError('FORBIDDEN', {
        message: `${what} is not this server's own address, so the request was refused.`,
      }),
    ),
    403,
  );

/** Host and Origin checks, for every request. */
export function sameOriginOnly(port: () => number): MiddlewareHandler {
  return async (c, next) => {
    const hosts = allowedHosts(port());
    const host = (c.req.header('host') ?? '').toLowerCase();
    if (!hosts.includes(host)) return forbidden(c, 'The Host header');
    const origin = c.req.header('origin');
    if (origin !== undefined && !hosts.map((h) => `http://${h}`).includes(origin.toLowerCase()))
      return forbidden(c, 'The Origin header');
    await next();
  };
}

/** The token on /api/*: Bearer or cookie; 401 UNAUTHORIZED otherwise. */
export function requireToken(token: string, port: () => number): MiddlewareHandler {
  return async (c, next) => {
    const auth = c.req.header('authorization');
    const bearer = auth !== undefined && /^Bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
    const cookie = cookieValue(c.req.header('cookie'), cookieName(port()));
    if (!sameToken(bearer, token) && !sameToken(cookie, token)) {
      return c.json(apiError(new IbackupError('UNAUTHORIZED')), 401);
    }
    await next();
  };
}

/**
 * `/?token=…`: a right token sets the cookie; either way the browser goes to `/` so the token
 * does not stay in the address bar or the history.
 */
export function tokenLanding(token: string, port: () => number): MiddlewareHandler {
  return async (c, next) => {
    const given = c.req.query('token');
    if (given === undefined) return next();
    if (sameToken(given, token)) {
      c.header('Set-Cookie', `${cookieName(port())}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    }
    c.header('Cache-Control', 'no-store');
    return c.redirect('/', 303);
  };
}
