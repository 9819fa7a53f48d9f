/**
 * The common shape of the device's small plist services: read one request, answer it, repeat
 * until the host closes the connection (or the handler says the conversation is over).
 */
import { isPlistDict, type PlistDict } from '../../protocol/plist/index.js';
import type { Link } from '../../transport/link.js';
import { PlistChannel, type PlistFormat } from '../../transport/plist-channel.js';

/** Handles one request; returns 'close' to end the conversation. */
export type PlistRequestHandler = (request: PlistDict, channel: PlistChannel) => Promise<void | 'close'>;

/**
 * Serves requests until the host closes the connection, a request fails or the handler says
 * 'close'; `onEnd` is called once when the conversation ends, whichever way.
 */
export function servePlistRequests(
  link: Link,
  format: PlistFormat,
  handle: PlistRequestHandler,
  onEnd?: () => void,
): PlistChannel {
  const channel = new PlistChannel(link, { format, timeoutMs: 0 });
  void (async () => {
    for (;;) {
      let msg;
      try {
        msg = await channel.receive();
      } catch {
        onEnd?.();
        channel.close();
        return;
      }
      if (!isPlistDict(msg)) continue;
      try {
        if ((await handle(msg, channel)) === 'close') {
          onEnd?.();
          return;
        }
      } catch {
        onEnd?.();
        channel.close();
        return;
      }
    }
  })();
  return channel;
}
