/**
 * The page's files: served from the built ui folder only (never a file outside it), with
 * security headers on every response — a Content-Security-Policy without inline scripts, no
 * sniffing, no framing, and no Referer (the token must not leak through it).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, MiddlewareHandler } from 'hono';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every response, API included. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.res.headers.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
    c.res.headers.set('Referrer-Policy', 'no-referrer');
    c.res.headers.set('X-Frame-Options', 'DENY');
    c.res.headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    c.res.headers.set('Cross-Origin-Resource-Policy', 'same-origin');
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  };
}

/**
 * Where the built page is: `ui/` next to the compiled server (dist/web/ui/); from the bundled
 * CLI, whose chunks live in dist/cli/chunks/ (scripts/bundle-cli.mjs), that same dist/web/ui/;
 * when the server runs from its TypeScript sources, `<repo>/dist/web/ui/`.
 */
export function defaultUiDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  if (import.meta.url.endsWith('.ts')) return resolve(here, '..', '..', 'dist', 'web', 'ui');
  const bundled = basename(here) === 'chunks' && basename(dirname(here)) === 'cli';
  return `${bundled ? resolve(here, '..', '..', 'web', 'ui') : join(here, 'ui')}${sep}`;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ibackup</title></head>
<body><h1>ibackup</h1><p>The page of the web app is not built yet.</p>
<p>Run <code>npm run build</code> in the ibackup folder, then start <code>ibackup ui</code> again.</p></body></html>
`;

/** The file under `root` that `urlPath` names, or null (outside it, hidden, odd bytes, not a file). */
async function resolveFile(root: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const parts = decoded.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '..' || p === '.' || p.startsWith('.'))) return null;
  const wanted = parts.length === 0 ? join(root, 'index.html') : resolve(root, ...parts);
  const inside = (base: string, p: string): boolean => {
    const rel = relative(base, p);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..');
  };
  if (!inside(root, wanted)) return null;
  try {
    const [realRoot, realFile] = await Promise.all([realpath(root), realpath(wanted)]);
    if (!inside(realRoot, realFile)) return null;
    return (await stat(realFile)).isFile() ? realFile : null;
  } catch {
    return null;
  }
}

/** GET/HEAD of the page's files; `/` is index.html (or a note saying to build it). */
export async function serveUi(c: Context, root: string): Promise<Response> {
  // The path as sent (still percent-encoded): decoded exactly once, here.
  const path = new URL(c.req.url).pathname;
  const file = await resolveFile(root, path);
  if (file === null) {
    if (path === '/' || path === '/index.html') return c.html(NOT_BUILT, 503);
    return c.json(
      {
        error: {
          code: 'NOT_FOUND',
          message: 'There is nothing at this address.',
          remedy: 'Open the address that `ibackup ui` printed.',
        },
      },
      404,
    );
  }
  const body = await readFile(file);
  const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  const hashed = path.startsWith('/assets/');
  const headers = {
    'Content-Type': type,
    'Content-Length': String(body.byteLength),
    'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-store',
  };
  return c.req.method === 'HEAD' ? c.body(null, 200, headers) : c.body(new Uint8Array(body), 200, headers);
}
