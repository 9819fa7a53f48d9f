/**
 * The Wi-Fi leg of a virtual iPhone's connection: what the device side of a connection made
 * through a Network entry of usbmuxd goes through. It is slower than USB (a rate in bytes per
 * second, scaled by nothing: bytes are bytes), and it can go silent without closing, as when the
 * phone walks out of range: nothing passes either way and no side sees the connection close, so
 * only a keep-alive (lockdown's heartbeat, TCP keepalive) can tell. Leaving the network closes
 * every connection.
 */
import { Duplex } from 'node:stream';

/** A Wi-Fi network between the computer and one phone: its rate, and whether it still carries anything. */
export class WifiLink {
  private silentNow = false;
  private readonly ends = new Set<WifiEnd>();

  /** `bytesPerSecond`: how fast the phone's data reaches the computer (and back). */
  constructor(readonly bytesPerSecond: number) {}

  get silent(): boolean {
    return this.silentNow;
  }

  /** The phone goes out of range: from now on nothing passes, and nothing closes. */
  goSilent(): void {
    this.silentNow = true;
  }

  /** The device side of a connection whose host side is `host` (the usbmuxd client's socket). */
  carry(host: Duplex): Duplex {
    const end = new WifiEnd(host, this);
    this.ends.add(end);
    end.once('close', () => this.ends.delete(end));
    return end;
  }

  /** The phone left the network: every connection over it closes. */
  close(): void {
    for (const e of this.ends) e.destroy();
    this.ends.clear();
  }
}

/** The device's end of one connection over Wi-Fi. */
class WifiEnd extends Duplex {
  /** When the link is free to carry the next bytes (ms, performance clock). */
  private nextFree = 0;

  constructor(
    private readonly host: Duplex,
    private readonly link: WifiLink,
  ) {
    super();
    host.on('data', (chunk: Buffer) => {
      // Out of range: what the computer sends never arrives.
      if (!link.silent) this.push(chunk);
    });
    host.once('end', () => {
      if (!link.silent) this.push(null);
    });
    host.once('close', () => this.destroy());
    host.on('error', () => this.destroy());
  }

  override _read(): void {
    // Data is pushed as the computer sends it.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.link.silent) return; // never acknowledged: the phone's writes hang, as over a dead link
    const now = performance.now();
    const start = Math.max(now, this.nextFree);
    this.nextFree = start + (chunk.length * 1000) / this.link.bytesPerSecond;
    const send = (): void => {
      if (this.link.silent || this.host.destroyed) return;
      this.host.write(chunk, () => done());
    };
    const wait = this.nextFree - now;
    // Short waits add up in the rate calculation rather than as one timer each.
    if (wait < 4) send();
    else setTimeout(send, wait);
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.link.silent) this.host.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // A silent link tells the computer nothing, not even that the phone gave up.
    if (!this.link.silent) this.host.destroy();
    done(err);
  }
}
