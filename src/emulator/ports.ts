/**
 * Device ports: lockdownd's fixed 62078 and the one-shot ports StartService hands out. A service
 * port waits for one connection for a while, and the connection outlives the session that asked.
 */
import type { Link } from '../transport/link.js';

export const LOCKDOWN_PORT = 62078;
const FIRST_DYNAMIC_PORT = 49152;
const LAST_DYNAMIC_PORT = 65535;

export type PortHandler = (link: Link) => void;

interface Pending {
  handler: PortHandler;
  timer: NodeJS.Timeout;
}

export class DevicePorts {
  private next = FIRST_DYNAMIC_PORT;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly lockdown: PortHandler,
    private readonly waitMs = 30_000,
  ) {}

  accepts(port: number): boolean {
    return port === LOCKDOWN_PORT || this.pending.has(port);
  }

  connect(port: number, link: Link): void {
    if (port === LOCKDOWN_PORT) {
      this.lockdown(link);
      return;
    }
    const p = this.pending.get(port);
    if (!p) {
      link.close();
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(port);
    p.handler(link);
  }

  /** Opens a one-shot port for a service; returns its number. */
  open(handler: PortHandler): number {
    let port = this.next;
    while (this.pending.has(port) || port === LOCKDOWN_PORT)
      port = port >= LAST_DYNAMIC_PORT ? FIRST_DYNAMIC_PORT : port + 1;
    this.next = port >= LAST_DYNAMIC_PORT ? FIRST_DYNAMIC_PORT : port + 1;
    const timer = setTimeout(() => this.pending.delete(port), this.waitMs);
    timer.unref();
    this.pending.set(port, { handler, timer });
    return port;
  }

  closeAll(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}
