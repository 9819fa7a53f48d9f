/**
 * com.apple.mobile.heartbeat client: the phone sends {Command: "Marco", Interval: N} every N
 * seconds and the host answers {Command: "Polo"} (pymobiledevice3 services/heartbeat.py; the
 * `idevice` crate reads Interval from Marco). Over Wi-Fi it is how the host learns that a phone
 * walked away: a link that goes silent never closes, but the Marcos stop. `lost` is called once,
 * when no Marco came within the allowed silence or the connection failed; `stop` ends it quietly.
 */
import { isPlistDict } from '../../protocol/plist/index.js';
import type { Link } from '../../transport/link.js';
import { PlistChannel } from '../../transport/plist-channel.js';

export const HEARTBEAT_SERVICE = 'com.apple.mobile.heartbeat';

export interface HeartbeatOptions {
  /** How long the phone may stay silent, given the Interval it stated (ms). */
  silenceMs: (intervalSeconds: number) => number;
  /** Called once when the phone stopped answering (not after stop()). */
  lost: (reason: string) => void;
}

export class HeartbeatMonitor {
  private stopped = false;
  private readonly channel: PlistChannel;

  constructor(
    link: Link,
    private readonly opts: HeartbeatOptions,
  ) {
    this.channel = new PlistChannel(link, { format: 'xml', timeoutMs: 0 });
    void this.loop();
  }

  private async loop(): Promise<void> {
    // Before the first Marco, the phone's own interval is unknown: allow the usual one.
    let allowed = this.opts.silenceMs(10);
    try {
      while (!this.stopped) {
        const msg = await this.channel.receive({ timeoutMs: allowed });
        if (!isPlistDict(msg) || msg.Command !== 'Marco') continue;
        const interval = typeof msg.Interval === 'number' && msg.Interval > 0 ? msg.Interval : 10;
        allowed = this.opts.silenceMs(interval);
        await this.channel.send({ Command: 'Polo' });
      }
    } catch (err) {
      if (this.stopped) return;
      this.stopped = true;
      this.channel.close();
      const what = err instanceof Error ? err.message : String(err);
      this.opts.lost(`the iPhone stopped answering its heartbeat (${what})`);
    }
  }

  stop(): void {
    this.stopped = true;
    this.channel.close();
  }
}
