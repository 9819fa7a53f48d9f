/** diagnostics_relay, device side: the MobileGestalt question backup hosts ask (PasswordConfigured). */
import type { PlistDict } from '../../protocol/plist/index.js';
import type { Link } from '../../transport/link.js';
import { servePlistRequests } from './plist-service.js';

export function serveDiagnosticsRelay(link: Link, gestalt: () => PlistDict): void {
  servePlistRequests(link, 'xml', async (msg, channel) => {
    if (msg.Request === 'MobileGestalt') {
      const all = gestalt();
      const keys = Array.isArray(msg.MobileGestaltKeys)
        ? msg.MobileGestaltKeys.filter((k): k is string => typeof k === 'string')
        : [];
      const out: PlistDict = {};
      for (const k of keys) {
        const v = all[k];
        if (v !== undefined) out[k] = v;
      }
      await channel.send({ Status: 'Success', Diagnostics: { MobileGestalt: out } });
    } else if (msg.Request === 'Goodbye') {
      await channel.send({ Status: 'Success' });
      channel.close();
      return 'close';
    } else {
      await channel.send({ Status: 'UnknownRequest' });
    }
  });
}
