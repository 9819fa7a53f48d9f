/** notification_proxy client: observe device notifications, post the sync notifications. */
import { EventEmitter } from 'node:events';
import { isPlistDict } from '../../protocol/plist/index.js';
import type { Link } from '../../transport/link.js';
import { PlistChannel } from '../../transport/plist-channel.js';

export const NP_SERVICE = 'com.apple.mobile.notification_proxy';

export const Notifications = {
  syncWillStart: 'com.apple.itunes-mobdev.syncWillStart',
  syncLockRequest: 'com.apple.itunes-mobdev.syncLockRequest',
  syncDidStart: 'com.apple.itunes-mobdev.syncDidStart',
  syncDidFinish: 'com.apple.itunes-mobdev.syncDidFinish',
  syncCancelRequest: 'com.apple.itunes-client.syncCancelRequest',
  syncSuspendRequest: 'com.apple.itunes-client.syncSuspendRequest',
  syncResumeRequest: 'com.apple.itunes-client.syncResumeRequest',
  backupDomainChanged: 'com.apple.mobile.backup.domain_changed',
  passcodePresented: 'com.apple.LocalAuthentication.ui.presented',
  passcodeDismissed: 'com.apple.LocalAuthentication.ui.dismissed',
} as const;

export class NotificationProxyClient extends EventEmitter<{ notification: [string] }> {
  private readonly channel: PlistChannel;
  private closed = false;

  constructor(link: Link) {
    super();
    this.channel = new PlistChannel(link, { format: 'xml', timeoutMs: 0 });
    void this.readLoop();
  }

  async observe(...names: string[]): Promise<void> {
    for (const name of names) await this.channel.send({ Command: 'ObserveNotification', Name: name });
  }

  async post(name: string): Promise<void> {
    await this.channel.send({ Command: 'PostNotification', Name: name });
  }

  /** Shutdown, waiting (bounded) for ProxyDeath. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const dead = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.proxyDeath = () => {
        clearTimeout(t);
        resolve();
      };
    });
    await this.channel.send({ Command: 'Shutdown' }).catch(() => undefined);
    await dead;
    this.channel.close();
  }

  private proxyDeath: () => void = () => undefined;

  private async readLoop(): Promise<void> {
    for (;;) {
      let msg;
      try {
        msg = await this.channel.receive({ timeoutMs: 0 });
      } catch {
        this.proxyDeath();
        return;
      }
      if (!isPlistDict(msg)) continue;
      if (msg.Command === 'RelayNotification' && typeof msg.Name === 'string') this.emit('notification', msg.Name);
      else if (msg.Command === 'ProxyDeath') this.proxyDeath();
    }
  }
}
