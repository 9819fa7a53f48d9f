/**
 * Talking to `ibackup ui`'s server from tests: JSON requests with the token, the event stream
 * read through fetch, and raw requests with any Host/Origin header.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { DeviceView, ServerEvent } from '../../src/web/api.js';
import type { UiServer } from '../../src/web/server.js';

export interface Reply<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export class Api {
  readonly base: string;
  constructor(readonly server: UiServer) {
    this.base = `http://127.0.0.1:${server.port}`;
  }

  /** A request with the Bearer token (unless `auth` is false); JSON body when given. */
  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    opts: { auth?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = {
      ...(opts.auth === false ? {} : { authorization: `Bearer ${this.server.token}` }),
      ...(opts.headers ?? {}),
    };
    if (body !== undefined && typeof body !== 'string') headers['content-type'] = 'application/json';
    const r = await fetch(this.base + path, {
      method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (HTML, empty): the text itself
    }
    return { status: r.status, body: parsed as T, headers: r.headers };
  }

  get<T = unknown>(path: string): Promise<Reply<T>> {
    return this.call<T>('GET', path);
  }

  post<T = unknown>(path: string, body: unknown = {}): Promise<Reply<T>> {
    return this.call<T>('POST', path, body);
  }

  /** Opens GET /api/events and collects its events. */
  async events(headers?: Record<string, string>): Promise<EventLog> {
    const ac = new AbortController();
    const r = await fetch(`${this.base}/api/events`, {
      headers: headers ?? { authorization: `Bearer ${this.server.token}` },
      signal: ac.signal,
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
    const log = new EventLog(() => ac.abort());
    void log.read(r.body as ReadableStream<Uint8Array>);
    return log;
  }
}

export class EventLog {
  readonly events: ServerEvent[] = [];
  /** The `event:` name of each event, in order (must equal its `type`). */
  readonly names: string[] = [];
  constructor(readonly close: () => void) {}

  async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buf += decoder.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const lines = block.split('\n');
          const data = lines
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          const name = lines
            .find((l) => l.startsWith('event:'))
            ?.slice(6)
            .trim();
          if (data === '') continue;
          this.names.push(name ?? '');
          this.events.push(JSON.parse(data) as ServerEvent);
        }
      }
    } catch {
      // aborted by close()
    }
  }

  /** Waits for an event (seen already or to come) matching `pred`. */
  async waitFor<E extends ServerEvent>(
    pred: (e: ServerEvent) => e is E,
    timeoutMs: number,
    what: string,
    from = 0,
  ): Promise<E> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > until)
        assert.fail(
          `timed out after ${timeoutMs} ms waiting for ${what}; got ${this.events.length} events: ${JSON.stringify(this.events.slice(-3)).slice(0, 1500)}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits for a `devices` snapshot whose device `udid` satisfies `pred`. */
  waitForDevice(
    udid: string,
    pred: (d: DeviceView) => boolean,
    timeoutMs: number,
    what: string,
    from = 0,
  ): Promise<ServerEvent> {
    return this.waitFor(
      (e): e is Extract<ServerEvent, { type: 'devices' }> =>
        e.type === 'devices' && e.devices.some((d) => d.udid === udid && pred(d)),
      timeoutMs,
      what,
      from,
    );
  }
}

/** A raw HTTP request (any Host header; the path sent as is). */
export function rawRequest(
  port: number,
  path: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export const isJobEvent =
  (id: string) =>
  (e: ServerEvent): e is Extract<ServerEvent, { type: 'job' }> =>
    e.type === 'job' && e.job.id === id;
