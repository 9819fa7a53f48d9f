/**
 * A small usbmuxd client for tests: raw packets on a socket (to send garbage as well as requests),
 * one-shot requests, and a lockdown connection through `Connect` with a PlistChannel on top.
 * Every wait is bounded.
 */
import type { Socket } from 'node:net';
import assert from 'node:assert/strict';
import { isPlistDict, type PlistDict } from '../../src/protocol/plist/index.js';
import { UsbmuxDecoder, encodeUsbmuxPacket, portToWire, type UsbmuxPacket } from '../../src/protocol/usbmux.js';
import { parseSocketAddress } from '../../src/transport/address.js';
import { connectSocket } from '../../src/transport/connect.js';
import { Link } from '../../src/transport/link.js';
import { PlistChannel } from '../../src/transport/plist-channel.js';

export const LOCKDOWN_PORT = 62078;
const WAIT_MS = 5_000;

const CLIENT_FIELDS = { ClientVersionString: 'ibackup-test', ProgName: 'mux-client', kLibUSBMuxVersion: 3 };

export class RawMuxClient {
  private readonly decoder = new UsbmuxDecoder();
  private readonly queue: UsbmuxPacket[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private nextTag = 1;
  private readonly onData = (chunk: Buffer): void => {
    this.decoder.feed(chunk);
    for (let p = this.decoder.next(); p !== undefined; p = this.decoder.next()) this.queue.push(p);
    this.wake?.();
  };

  private constructor(readonly sock: Socket) {
    sock.on('data', this.onData);
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  static async connect(address: string): Promise<RawMuxClient> {
    return new RawMuxClient(await connectSocket(parseSocketAddress(address), { timeoutMs: WAIT_MS }));
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Sends a plist request with the fields libusbmuxd adds; returns its tag. */
  send(payload: PlistDict): number {
    const tag = this.nextTag++;
    this.sock.write(encodeUsbmuxPacket({ tag, payload: { ...CLIENT_FIELDS, ...payload } }));
    return tag;
  }

  writeRaw(bytes: Uint8Array): void {
    this.sock.write(bytes);
  }

  /** The next packet; fails the test after `timeoutMs`. */
  async next(timeoutMs = WAIT_MS): Promise<UsbmuxPacket> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const p = this.queue.shift();
      if (p) return p;
      if (this.ended) assert.fail('the usbmuxd connection closed while a packet was awaited');
      const left = until - Date.now();
      if (left <= 0) assert.fail(`no usbmuxd packet within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  /** The next plist packet's payload. */
  async nextPlist(timeoutMs = WAIT_MS): Promise<PlistDict> {
    const p = await this.next(timeoutMs);
    assert.equal(p.kind, 'plist');
    return p.kind === 'plist' ? p.payload : {};
  }

  /** Resolves true once the server closed the socket, false after `timeoutMs`. */
  async waitClosed(timeoutMs = WAIT_MS): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.ended;
  }

  /**
   * After a successful Connect: stop decoding usbmux packets and hand the raw socket on.
   * Returns the bytes already read past the Result.
   */
  handOff(): Uint8Array {
    this.sock.off('data', this.onData);
    return this.decoder.takeRemainder();
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** One request on a fresh connection, like libusbmuxd does; returns the reply payload. */
export async function muxRequest(address: string, payload: PlistDict): Promise<PlistDict> {
  const c = await RawMuxClient.connect(address);
  try {
    const tag = c.send(payload);
    const p = await c.next();
    assert.equal(p.tag, tag, 'the reply echoes the tag');
    assert.equal(p.version, 1);
    assert.equal(p.kind, 'plist');
    return p.kind === 'plist' ? p.payload : {};
  } finally {
    c.destroy();
  }
}

/** Connects through usbmuxd to a device port; the returned client is a raw pipe (handed off). */
export async function connectDevicePort(
  address: string,
  deviceId: number,
  port = LOCKDOWN_PORT,
): Promise<RawMuxClient> {
  const c = await RawMuxClient.connect(address);
  c.send({ MessageType: 'Connect', DeviceID: deviceId, PortNumber: portToWire(port) });
  const reply = await c.nextPlist();
  if (reply.Number !== 0) {
    c.destroy();
    assert.fail(`Connect to port ${port} answered ${JSON.stringify(reply)}`);
  }
  const rest = c.handOff();
  assert.equal(rest.length, 0, 'the device says nothing before the host');
  return c;
}

/** A lockdown conversation through usbmuxd: the raw client and a PlistChannel over it. */
export async function openLockdown(
  address: string,
  deviceId: number,
): Promise<{ mux: RawMuxClient; channel: PlistChannel }> {
  const mux = await connectDevicePort(address, deviceId);
  const channel = new PlistChannel(new Link(mux.sock), { format: 'xml', timeoutMs: WAIT_MS });
  return { mux, channel };
}

/** Sends a lockdown request and returns the reply dictionary. */
export async function lockdownRequest(channel: PlistChannel, request: PlistDict): Promise<PlistDict> {
  const reply = await channel.request({ Label: 'ibackup-test', ...request });
  assert.ok(isPlistDict(reply), 'lockdown replies with a dictionary');
  return reply;
}

/** The emulator still serves: ListDevices answers and a fresh lockdown QueryType answers. */
export async function assertStillServing(address: string, deviceId: number): Promise<void> {
  const list = await muxRequest(address, { MessageType: 'ListDevices' });
  assert.ok(Array.isArray(list.DeviceList) && list.DeviceList.length > 0, 'ListDevices answers');
  const { channel } = await openLockdown(address, deviceId);
  try {
    const r = await lockdownRequest(channel, { Request: 'QueryType' });
    assert.equal(r.Type, 'com.apple.mobile.lockdown');
  } finally {
    channel.close();
  }
}
