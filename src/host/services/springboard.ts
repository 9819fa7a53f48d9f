/** springboardservices client: app icons (getIconPNGData) for the Applications of Info.plist. */
import { isPlistDict } from '../../protocol/plist/index.js';
import type { Link } from '../../transport/link.js';
import { PlistChannel } from '../../transport/plist-channel.js';

export const SPRINGBOARD_SERVICE = 'com.apple.springboardservices';

/** Largest icon accepted (a real one is a few KiB to a few hundred KiB). */
const MAX_ICON_FRAME = 8 * 1024 * 1024;
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

/**
 * The PNG icon of each app, asked one at a time on one connection. An app the device has no icon
 * for is left out; a connection that fails or stalls ends the list with what was received.
 */
export async function fetchAppIcons(
  link: Link,
  bundleIds: readonly string[],
  timeoutMs = 10_000,
): Promise<Map<string, Uint8Array>> {
  const ch = new PlistChannel(link, { format: 'binary', timeoutMs, maxFrameSize: MAX_ICON_FRAME });
  const icons = new Map<string, Uint8Array>();
  try {
    for (const bundleId of bundleIds) {
      await ch.send({ command: 'getIconPNGData', bundleId });
      const reply = await ch.receive();
      if (!isPlistDict(reply)) continue;
      const png = reply.pngData;
      if (png instanceof Uint8Array && PNG_MAGIC.every((b, i) => png[i] === b)) icons.set(bundleId, png);
    }
  } catch {
    // Icons are cosmetic: keep what arrived.
  } finally {
    ch.close();
  }
  return icons;
}
