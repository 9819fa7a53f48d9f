/**
 * After "Trust This Computer" stopped waiting (the iPhone stayed locked, or nobody answered), the
 * phone is still asked, quietly and without a job, as Finder keeps asking: once the owner unlocks
 * it and taps Trust, the pairing is saved and the page moves on by itself. The watch stops when
 * the owner taps "Don't Trust", when the phone is unplugged, or when Trust is pressed again.
 */
import type { HostDevice } from '../app/device-handle.js';
import { pairDevice } from '../app/pair.js';
import { isIbackupError } from '../errors.js';
import type { Log } from './http-errors.js';

/** What the watch last saw of the phone. */
export type WatchedTrust = 'locked' | 'pending' | 'denied' | 'trusted';

/** Pause between two requests while the phone is locked or shows its dialog. */
const ASK_EVERY_MS = 2_000;
/** How long one phone is watched in all (it stays connected, unanswered, that long). */
const WATCH_FOR_MS = 24 * 3600_000;

export class TrustWatch {
  private readonly watches = new Map<string, AbortController>();

  constructor(
    private readonly stopper: AbortSignal,
    private readonly log?: Log,
  ) {}

  /** Asks `device` to trust this computer until it answers; `seen` hears each change. */
  start(key: string, device: HostDevice, seen: (state: WatchedTrust) => void): void {
    if (this.watches.has(key) || this.stopper.aborted) return;
    const own = new AbortController();
    this.watches.set(key, own);
    const signal = AbortSignal.any([this.stopper, own.signal]);
    void (async () => {
      try {
        await pairDevice(device, {
          signal,
          timeoutMs: WATCH_FOR_MS,
          retryMs: ASK_EVERY_MS,
          onEvent: (e) => {
            if (e.type !== 'trusted') seen(e.type === 'locked' ? 'locked' : 'pending');
          },
        });
        if (!signal.aborted) seen('trusted');
      } catch (err) {
        if (signal.aborted) return;
        if (isIbackupError(err) && err.code === 'TRUST_DENIED') seen('denied');
        else this.log?.(`trust: ${isIbackupError(err) ? err.message : String(err)}`);
      } finally {
        if (this.watches.get(key) === own) this.watches.delete(key);
      }
    })();
  }

  stop(key: string): void {
    this.watches.get(key)?.abort();
    this.watches.delete(key);
  }
}
