/**
 * notification_proxy, device side: hosts observe and post notifications; the device relays what
 * they observe, and answers Shutdown with ProxyDeath. Posts also reach the device itself (a posted
 * syncCancelRequest cancels a running backup).
 */
import { EventEmitter } from 'node:events';
import type { Link } from '../../transport/link.js';
import { servePlistRequests } from './plist-service.js';

/** The device-wide notification centre. */
export class NotificationBus extends EventEmitter<{ post: [string] }> {
  post(name: string): void {
    this.emit('post', name);
  }
}

export function serveNotificationProxy(link: Link, bus: NotificationBus): void {
  const observed = new Set<string>();
  const relay = (name: string): void => {
    if (observed.has(name)) void channel.send({ Command: 'RelayNotification', Name: name }).catch(() => undefined);
  };
  const stopRelaying = (): void => {
    bus.off('post', relay);
  };
  const channel = servePlistRequests(
    link,
    'xml',
    async (msg, ch) => {
      const name = typeof msg.Name === 'string' ? msg.Name : undefined;
      switch (msg.Command) {
        case 'ObserveNotification':
          if (name) observed.add(name);
          return;
        case 'PostNotification':
          if (name) bus.post(name);
          return;
        case 'Shutdown':
          await ch.send({ Command: 'ProxyDeath' }).catch(() => undefined);
          setTimeout(() => ch.close(), 100).unref();
          return 'close';
        default:
          return; // unknown commands get no reply, like the device
      }
    },
    stopRelaying,
  );
  bus.on('post', relay);
  link.once('end', stopRelaying);
}
