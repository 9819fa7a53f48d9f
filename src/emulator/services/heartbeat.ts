/**
 * com.apple.mobile.heartbeat, device side: the phone sends {Command: "Marco", Interval: N} and
 * expects {Command: "Polo"} back, again every N seconds, while a host keeps the connection. Hosts
 * keep it open beside their other services so that a phone reached over Wi-Fi keeps its
 * connections (pymobiledevice3 services/heartbeat.py answers each message with Polo; the
 * `idevice` crate's heartbeat client reads Interval from Marco). The interval is this model's
 * choice; the waits between messages follow the profile's time scale.
 */
import { PlistChannel } from '../../transport/plist-channel.js';
import type { Link } from '../../transport/link.js';
import { scaledMs } from '../ios-generations.js';

export const HEARTBEAT_SERVICE = 'com.apple.mobile.heartbeat';
/** Seconds between Marcos, as the phone states in each. */
export const HEARTBEAT_INTERVAL_S = 10;

export function serveHeartbeat(link: Link, timeScale: number): void {
  const channel = new PlistChannel(link, { format: 'xml', timeoutMs: 0 });
  void (async () => {
    try {
      while (!link.isClosed) {
        await channel.send({ Command: 'Marco', Interval: HEARTBEAT_INTERVAL_S });
        const reply = await channel.receive({
          timeoutMs: Math.max(1000, scaledMs(3 * HEARTBEAT_INTERVAL_S, timeScale)),
        });
        if (typeof reply !== 'object' || reply === null || (reply as { Command?: unknown }).Command !== 'Polo') break;
        await new Promise((r) => setTimeout(r, scaledMs(HEARTBEAT_INTERVAL_S, timeScale)));
      }
    } catch {
      // The host went away, or stopped answering.
    }
    channel.close();
  })();
}
