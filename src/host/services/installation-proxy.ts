/** installation_proxy client: the list of installed user apps (for Info.plist). */
import { isPlistDict, type PlistDict } from '../../protocol/plist/index.js';
import type { Link } from '../../transport/link.js';
import { PlistChannel } from '../../transport/plist-channel.js';

export const INSTALLATION_PROXY_SERVICE = 'com.apple.mobile.installation_proxy';

export async function browseUserApps(link: Link, timeoutMs = 60_000): Promise<PlistDict[]> {
  const ch = new PlistChannel(link, { format: 'xml', timeoutMs });
  try {
    await ch.send({
      Command: 'Browse',
      ClientOptions: {
        ApplicationType: 'User',
        ReturnAttributes: ['CFBundleIdentifier', 'ApplicationSINF', 'iTunesMetadata'],
      },
    });
    const apps: PlistDict[] = [];
    for (let pages = 0; pages < 100_000; pages++) {
      const msg = await ch.receive();
      if (!isPlistDict(msg)) break;
      if (Array.isArray(msg.CurrentList)) for (const a of msg.CurrentList) if (isPlistDict(a)) apps.push(a);
      if (msg.Status === 'Complete' || typeof msg.Error === 'string') break;
    }
    return apps;
  } finally {
    ch.close();
  }
}
