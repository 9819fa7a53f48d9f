/**
 * How long the other side of a connection may stay silent while we wait for its bytes, watched by
 * one timer per connection rather than a timer set and cleared for every wait: a 2 GiB backup
 * stream waits for the socket some 30 000 times, and each timer set and cleared costs an insertion
 * in Node.js's timer lists (measured: a sixth of a second of CPU time per 20 000-file backup). The
 * timer stays armed across waits; when it fires it looks at the wait running then and either ends
 * it (silent for its whole allowance) or sleeps for what the allowance has left. It keeps the
 * process alive only while a wait runs.
 */
import { IbackupError } from '../errors.js';

interface Wait {
  /** When the wait began (ms, Date.now()). */
  since: number;
  timeoutMs: number;
  end: (err: Error) => void;
}

export class SilenceWatch {
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (ms, Date.now()). */
  private due = 0;
  private wait: Wait | undefined;

  /** A wait began; `end` is called with a TIMEOUT error if nothing ends it within `timeoutMs` (0: never). */
  waitStarted(timeoutMs: number, end: (err: Error) => void): void {
    if (timeoutMs <= 0) return;
    const since = Date.now();
    this.wait = { since, timeoutMs, end };
    if (this.timer !== undefined && this.due <= since + timeoutMs) this.timer.ref();
    else this.arm(since + timeoutMs);
  }

  /** The wait ended (bytes came, or it failed): the timer no longer keeps the process alive. */
  waitEnded(): void {
    this.wait = undefined;
    this.timer?.unref();
  }

  /** The connection is over. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wait = undefined;
  }

  private arm(due: number): void {
    clearTimeout(this.timer);
    this.due = due;
    this.timer = setTimeout(() => this.check(), Math.max(0, due - Date.now()));
    if (this.wait === undefined) this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    const w = this.wait;
    if (w === undefined) return;
    const deadline = w.since + w.timeoutMs;
    if (deadline > Date.now()) {
      this.arm(deadline);
      return;
    }
    this.wait = undefined;
    w.end(
      new IbackupError('TIMEOUT', { message: `The other side was silent for ${Math.round(w.timeoutMs / 1000)} s.` }),
    );
  }
}
