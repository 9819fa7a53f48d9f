/**
 * The waiting line of `watch`: phones queued in the order they fell due, at most `width` running
 * at once, each phone at most once (queued or running). What the web app's queue view shows.
 */

/** A phone as the queue view shows it. */
export interface PhoneView {
  udid: string;
  connected: boolean;
  connection: 'USB' | 'Network' | null;
  running: boolean;
  /** A failed or refused run is tried again from then on (while the phone stays connected). */
  retryAfter?: string;
}

export interface WatchSnapshot {
  parallel: number;
  running: string[];
  queued: string[];
  phones: PhoneView[];
}

export class WatchQueue {
  private readonly waiting: string[] = [];
  private readonly active = new Set<string>();

  constructor(readonly width: number) {}

  has(udid: string): boolean {
    return this.active.has(udid) || this.waiting.includes(udid);
  }

  /** Adds a phone at the end; returns its place (1 = next to start). */
  add(udid: string): number {
    if (!this.has(udid)) this.waiting.push(udid);
    return this.waiting.indexOf(udid) + 1;
  }

  /** Drops a phone that is waiting (unplugged before its turn). */
  remove(udid: string): void {
    const i = this.waiting.indexOf(udid);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** The next phone to start when there is room (it counts as running from now). */
  next(): string | undefined {
    if (this.active.size >= this.width) return undefined;
    const udid = this.waiting.shift();
    if (udid !== undefined) this.active.add(udid);
    return udid;
  }

  finished(udid: string): void {
    this.active.delete(udid);
  }

  clear(): void {
    this.waiting.length = 0;
  }

  snapshot(phones: PhoneView[]): WatchSnapshot {
    return { parallel: this.width, running: [...this.active], queued: [...this.waiting], phones };
  }
}
