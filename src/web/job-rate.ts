/**
 * The time left of a job, only when it can be told honestly: from the percent's pace over the
 * last seconds, once that pace has held for a while and the percent still moves. A job that
 * reached its last percent in a burst, or stalls (the iPhone moves files into place, the host
 * checks the backup), gets no estimate rather than a fixed "About 1 s left".
 */

/** At least this long of percent samples before an estimate. */
const MIN_SPAN_MS = 3_000;
/** The pace is measured over this window. */
const WINDOW_MS = 10_000;
/** No estimate once the percent has not moved for this long. */
const STALL_MS = 2_500;
/** Successive estimates must agree within this ratio (and a few seconds). */
const AGREE = 0.35;

interface Sample {
  t: number;
  percent: number;
}

export class TimeLeft {
  private readonly samples: Sample[] = [];
  private lastMoveMs = 0;
  private previous: number | null = null;
  private stableSince: number | null = null;

  /** A new percent at `now`. */
  sample(percent: number, now = Date.now()): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && percent <= last.percent) return;
    this.samples.push({ t: now, percent });
    this.lastMoveMs = now;
    while (this.samples.length > 2 && (this.samples[0] as Sample).t < now - WINDOW_MS) this.samples.shift();
    this.judge(now);
  }

  /** Seconds left, or null when no honest estimate exists now. */
  seconds(now = Date.now()): number | null {
    if (this.stableSince === null || this.previous === null) return null;
    if (now - this.lastMoveMs > STALL_MS) return null;
    const left = this.previous - (now - this.lastMoveMs) / 1000;
    return left > 0 ? Math.round(left) : null;
  }

  /** The pace over the window; the estimate stands once two in a row agree over MIN_SPAN_MS. */
  private judge(now: number): void {
    const first = this.samples[0] as Sample;
    const last = this.samples[this.samples.length - 1] as Sample;
    const span = last.t - first.t;
    if (span < MIN_SPAN_MS || last.percent >= 100) {
      this.previous = null;
      this.stableSince = null;
      return;
    }
    const perSecond = (last.percent - first.percent) / (span / 1000);
    const estimate = (100 - last.percent) / perSecond;
    const agrees = this.previous !== null && Math.abs(estimate - this.previous) <= Math.max(3, this.previous * AGREE);
    if (!agrees) this.stableSince = null;
    else this.stableSince ??= now;
    this.previous = estimate;
  }
}
