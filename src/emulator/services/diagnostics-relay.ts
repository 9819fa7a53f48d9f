/** diagnostics_relay, device side: the MobileGestalt question backup hosts ask (PasswordConfigured). */
import { isPlistDict, type PlistDict } from '../../protocol/plist/index.js';
import type { Link } from '../../transport/link.js';
import { PlistChannel } from '../../transport/plist-channel.js';

export function serveDiagnosticsRelay(link: Link, gestalt: () => PlistDict): void {
  const channel = new PlistChannel(link, { format: 'xml', timeoutMs: 0 });
  void (async () => {
    for (;;) {
      let msg;
      try {
        msg = await channel.receive();
      } catch {
        channel.close();
        return;
      }
      if (!isPlistDict(msg)) continue;
      if (msg.Request === 'MobileGestalt') {
        const all = gestalt();
        const keys = Array.isArray(msg.MobileGestaltKeys) ? msg.MobileGestaltKeys.filter((k): k is string => typeof k === 'string') : [];
        const out: PlistDict = {};
        for (const k of keys) {
          const v = all[k];
          if (v !== undefined) out[k] = v;
        }
        await channel.send({ Status: 'Success', Diagnostics: { MobileGestalt: out } }).catch(() => undefined);
      } else if (msg.Request === 'Goodbye') {
        await channel.send({ Status: 'Success' }).catch(() => undefined);
        channel.close();
        return;
      } else {
        await channel.send({ Status: 'UnknownRequest' }).catch(() => undefined);
      }
    }
  })();
}
