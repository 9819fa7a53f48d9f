/**
 * notification_proxy, device side: hosts observe and post notifications; the device relays what
 * they observe, and answers Shutdown with ProxyDeath. Posts also reach the device itself (a posted
 * syncCancelRequest cancels a running backup).
 */
import { EventEmitter } from 'node:events';
import { isPlistDict } from '../../protocol/plist/index.js';
import type { Link } from '../../transport/link.js';
import { PlistChannel } from '../../transport/plist-channel.js';

/** The device-wide notification centre. */
export class NotificationBus extends EventEmitter<{ post: [string] }> {
  post(name: string): void {
    this.emit('post', name);
  }
}

export function serveNotificationProxy(link: Link, bus: NotificationBus): void {
  const channel = new PlistChannel(link, { format: 'xml', timeoutMs: 0 });
  const observed = new Set<string>();
  const relay = (name: string): void => {
    if (observed.has(name)) void channel.send({ Command: 'RelayNotification', Name: name }).catch(() => undefined);
  };
  bus.on('post', relay);
  link.once('end', () => bus.off('post', relay));
  void (async () => {
    for (;;) {
      let msg;
      try {
        msg = await channel.receive();
      } catch {
        bus.off('post', relay);
        channel.close();
        return;
      }
      if (!isPlistDict(msg)) continue;
      const name = typeof msg.Name === 'string' ? msg.Name : undefined;
      switch (msg.Command) {
        case 'ObserveNotification':
          if (name) observed.add(name);
          break;
        case 'PostNotification':
          if (name) bus.post(name);
          break;
        case 'Shutdown':
          await channel.send({ Command: 'ProxyDeath' }).catch(() => undefined);
          bus.off('post', relay);
          setTimeout(() => channel.close(), 100).unref();
          return;
        default:
          break; // unknown commands get no reply, like the device
      }
    }
  })();
}
