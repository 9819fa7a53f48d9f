/**
 * Server-sent events: a bus every part of the server publishes ServerEvents on, and the
 * GET /api/events stream that relays them to each page (a `devices` snapshot first, a comment
 * every 15 s so proxies and the browser keep the connection, listeners removed when it goes).
 */
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { ServerEvent } from './api.js';

export const HEARTBEAT_MS = 15_000;

type Listener = (e: ServerEvent) => void;

export class EventBus {
  private readonly listeners = new Set<Listener>();
  /** Streams still open (ended by `closeAll` when the server stops). */
  private readonly streams = new Set<() => void>();

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  publish(e: ServerEvent): void {
    for (const fn of [...this.listeners]) fn(e);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** GET /api/events: `first` gives the snapshot sent before anything else. */
  stream(c: Context, first: () => ServerEvent): Response {
    return streamSSE(c, async (stream) => {
      await new Promise<void>((resolve) => {
        let closed = false;
        // Writes go one after the other; a write to a gone client ends the stream.
        let chain: Promise<void> = Promise.resolve();
        const send = (write: (s: SSEStreamingApi) => Promise<void>): void => {
          chain = chain.then(() => (closed ? undefined : write(stream))).catch(() => finish());
        };
        const sendEvent = (e: ServerEvent): void => send((s) => s.writeSSE({ event: e.type, data: JSON.stringify(e) }));
        const unsubscribe = this.subscribe(sendEvent);
        const heartbeat = setInterval(
          () => send((s) => s.write(': heartbeat\n\n').then(() => undefined)),
          HEARTBEAT_MS,
        );
        heartbeat.unref();
        const finish = (): void => {
          if (closed) return;
          closed = true;
          unsubscribe();
          clearInterval(heartbeat);
          this.streams.delete(finish);
          resolve();
        };
        this.streams.add(finish);
        stream.onAbort(finish);
        sendEvent(first());
      });
    });
  }

  /** Ends every open stream (the server is stopping). */
  closeAll(): void {
    for (const finish of [...this.streams]) finish();
  }
}
