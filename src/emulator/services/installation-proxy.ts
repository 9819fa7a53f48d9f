/** installation_proxy, device side: Browse lists the installed user apps, then says Complete. */
import { isPlistDict, type PlistDict } from '../../protocol/plist/index.js';
import type { Link } from '../../transport/link.js';
import { servePlistRequests } from './plist-service.js';

export interface InstalledApp {
  bundleId: string;
  name: string;
  version: string;
  /** Opaque purchase data, as the App Store leaves it. */
  sinf: Uint8Array;
  itunesMetadata: Uint8Array;
}

const PAGE = 20;

export function serveInstallationProxy(link: Link, apps: readonly InstalledApp[]): void {
  servePlistRequests(link, 'xml', async (msg, channel) => {
    if (msg.Command !== 'Browse' && msg.Command !== 'Lookup') {
      await channel.send({ Error: 'UnknownCommand' });
      return;
    }
    const opts = isPlistDict(msg.ClientOptions) ? msg.ClientOptions : {};
    const wanted = Array.isArray(opts.ReturnAttributes)
      ? opts.ReturnAttributes.filter((x): x is string => typeof x === 'string')
      : undefined;
    const list = apps.map((a) => pick(appRecord(a), wanted));
    for (let i = 0; i < list.length; i += PAGE) {
      const page = list.slice(i, i + PAGE);
      await channel.send({
        Status: 'BrowsingApplications',
        CurrentIndex: i,
        CurrentAmount: page.length,
        Total: list.length,
        CurrentList: page,
      });
    }
    await channel.send({ Status: 'Complete' });
  });
}

function appRecord(a: InstalledApp): PlistDict {
  return {
    CFBundleIdentifier: a.bundleId,
    CFBundleDisplayName: a.name,
    CFBundleName: a.name,
    CFBundleShortVersionString: a.version,
    CFBundleVersion: a.version,
    ApplicationType: 'User',
    ApplicationSINF: a.sinf,
    iTunesMetadata: a.itunesMetadata,
  };
}

function pick(rec: PlistDict, keys: string[] | undefined): PlistDict {
  if (!keys || keys.length === 0) return rec;
  const out: PlistDict = {};
  for (const k of keys) {
    const v = rec[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
