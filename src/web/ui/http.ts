/**
 * The page's only way to the server: same-origin /api/* calls with the session cookie. A failed
 * call becomes an ApiFailure carrying the server's message and remedy.
 */
import type { ApiError, ErrorView } from '../api.js';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly view: ErrorView,
  ) {
    super(view.message);
  }
}

function isApiError(v: unknown): v is ApiError {
  if (typeof v !== 'object' || v === null || !('error' in v)) return false;
  const e = (v as { error: unknown }).error;
  return typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string';
}

const OFFLINE: ErrorView = {
  code: 'UI_OFFLINE',
  message: 'ibackup is not answering.',
  remedy: 'Check that "ibackup ui" is still running in its terminal, then reload this page.',
};

/** GET (no body) or POST (JSON body) to an /api/* route; resolves with the parsed JSON. */
export async function api<T>(path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: body === undefined ? 'GET' : 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers:
        body === undefined
          ? { accept: 'application/json' }
          : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiFailure(0, OFFLINE);
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text === '' ? null : JSON.parse(text);
  } catch {
    data = null;
  }
  if (!res.ok) {
    const view: ErrorView = isApiError(data)
      ? { code: data.error.code, message: data.error.message, remedy: data.error.remedy ?? null }
      : {
          code: `HTTP_${res.status}`,
          message: `ibackup answered ${res.status} ${res.statusText}.`,
          remedy: 'Reload the page; if it happens again, restart "ibackup ui".',
        };
    throw new ApiFailure(res.status, view);
  }
  return data as T;
}

/** The ErrorView of anything a call threw. */
export function errorView(e: unknown): ErrorView {
  if (e instanceof ApiFailure) return e.view;
  return {
    code: 'UI_ERROR',
    message: e instanceof Error ? e.message : String(e),
    remedy: 'Reload the page and try again.',
  };
}

/** Path segment for a UDID (never trusted to be URL-safe). */
export function seg(s: string): string {
  return encodeURIComponent(s);
}
