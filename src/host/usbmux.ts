/**
 * Client of usbmuxd (the system daemon, Apple's service, or the virtual iPhone): list devices,
 * follow hotplug, connect to a device port, and keep pair records and the system BUID.
 * Like libusbmuxd, every request uses a fresh socket.
 */
import type { Socket } from 'node:net';
import { IbackupError, isIbackupError } from '../errors.js';
import {
  UsbmuxDecoder,
  UsbmuxResult,
  decodeUsbmuxMessage,
  encodeUsbmuxPacket,
  encodeUsbmuxRequest,
  usbmuxRequests,
  type UsbmuxAttached,
  type UsbmuxReply,
  type UsbmuxRequest,
} from '../protocol/usbmux.js';
import { resolveUsbmuxdAddress, type SocketAddress } from '../transport/address.js';
import { connectSocket, describe } from '../transport/connect.js';
import { Link } from '../transport/link.js';

/** A device as usbmuxd lists it. */
export interface MuxDeviceInfo {
  deviceId: number;
  udid: string;
  connection: 'USB' | 'Network';
}

export type MuxEvent =
  | { type: 'attached'; device: MuxDeviceInfo }
  | { type: 'detached'; deviceId: number }
  | { type: 'paired'; deviceId: number };

export interface UsbmuxClientOptions {
  /** `--usbmuxd`; else USBMUXD_SOCKET_ADDRESS, else the platform default. */
  address?: string | SocketAddress;
  /** Reply timeout (default 10 s). */
  timeoutMs?: number;
}

/** libusbmuxd inserts a dash in 24-character serials; so do we, so UDIDs match everywhere. */
export function normalizeUdid(serial: string): string {
  return /^[0-9A-Fa-f]{24}$/.test(serial) ? `${serial.slice(0, 8)}-${serial.slice(8)}` : serial;
}

function deviceInfo(a: UsbmuxAttached): MuxDeviceInfo {
  return {
    deviceId: a.DeviceID,
    udid: normalizeUdid(a.Properties.SerialNumber),
    connection: a.Properties.ConnectionType === 'Network' ? 'Network' : 'USB',
  };
}

export class UsbmuxClient {
  readonly address: SocketAddress;
  private readonly timeoutMs: number;
  private tag = 1;

  constructor(opts: UsbmuxClientOptions = {}) {
    this.address = typeof opts.address === 'object' ? opts.address : resolveUsbmuxdAddress(opts.address);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async listDevices(): Promise<MuxDeviceInfo[]> {
    const reply = await this.request(usbmuxRequests.listDevices());
    if (reply.MessageType === 'DeviceList') return reply.DeviceList.map(deviceInfo);
    throw this.unexpected('ListDevices', reply);
  }

  async readBuid(): Promise<string> {
    const reply = await this.request(usbmuxRequests.readBuid());
    if (reply.MessageType === 'BUID') return reply.BUID;
    throw this.unexpected('ReadBUID', reply);
  }

  /** The stored pair record bytes, or null when usbmuxd has none for this UDID. */
  async readPairRecord(udid: string): Promise<Uint8Array | null> {
    const reply = await this.request(usbmuxRequests.readPairRecord(udid));
    if (reply.MessageType === 'PairRecordData') return reply.PairRecordData;
    if (reply.MessageType === 'Result') return null;
    throw this.unexpected('ReadPairRecord', reply);
  }

  /** Stores a pair record; false when usbmuxd refused (the caller then keeps it itself). */
  async savePairRecord(udid: string, record: Uint8Array, deviceId?: number): Promise<boolean> {
    const reply = await this.request(usbmuxRequests.savePairRecord(udid, record, deviceId));
    return reply.MessageType === 'Result' && reply.Number === UsbmuxResult.OK;
  }

  async deletePairRecord(udid: string): Promise<boolean> {
    const reply = await this.request(usbmuxRequests.deletePairRecord(udid));
    return reply.MessageType === 'Result' && reply.Number === UsbmuxResult.OK;
  }

  /** Opens a raw connection to a device port (e.g. lockdownd's 62078). */
  async connect(deviceId: number, port: number, signal?: AbortSignal): Promise<Link> {
    const sock = await this.open(signal);
    const decoder = new UsbmuxDecoder();
    try {
      const reply = await this.exchange(sock, decoder, usbmuxRequests.connect(deviceId, port), signal);
      if (reply.MessageType !== 'Result') throw this.unexpected('Connect', reply);
      if (reply.Number === UsbmuxResult.BADDEV) {
        throw new IbackupError('DEVICE_NOT_FOUND', {
          message: 'The iPhone was disconnected.',
          remedy: 'Reconnect the iPhone, unlock it, and try again.',
        });
      }
      if (reply.Number !== UsbmuxResult.OK) {
        throw new IbackupError('CONNECTION_CLOSED', {
          message: `The iPhone refused a connection to port ${port} (usbmuxd result ${reply.Number}).`,
          remedy: 'Unlock the iPhone, reconnect it and try again.',
          details: { result: reply.Number, port },
        });
      }
      const link = new Link(sock);
      const rest = decoder.takeRemainder();
      if (rest.length > 0) link.feedRaw(rest);
      return link;
    } catch (err) {
      sock.destroy();
      throw err;
    }
  }

  /**
   * Follows hotplug: calls `onEvent` for every device present, then for each change, until the
   * signal aborts or usbmuxd goes away (the promise then rejects with USBMUXD_UNREACHABLE).
   */
  async listen(onEvent: (e: MuxEvent) => void, signal?: AbortSignal): Promise<void> {
    const sock = await this.open(signal);
    const decoder = new UsbmuxDecoder();
    try {
      const first = await this.exchange(sock, decoder, usbmuxRequests.listen(), signal);
      if (first.MessageType !== 'Result' || first.Number !== UsbmuxResult.OK) throw this.unexpected('Listen', first);
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          try {
            for (const p of decoder.push(chunk)) {
              if (p.kind !== 'plist') continue;
              const m = decodeUsbmuxMessage(p.payload);
              if (m.MessageType === 'Attached') onEvent({ type: 'attached', device: deviceInfo(m) });
              else if (m.MessageType === 'Detached') onEvent({ type: 'detached', deviceId: m.DeviceID });
              else if (m.MessageType === 'Paired') onEvent({ type: 'paired', deviceId: m.DeviceID });
            }
          } catch (err) {
            done(err);
          }
        };
        const onClose = (): void => done(this.unreachable(new Error('usbmuxd closed the connection')));
        const onError = (err: Error): void => done(this.unreachable(err));
        const onAbort = (): void => done(undefined);
        const done = (err: unknown): void => {
          sock.off('data', onData);
          sock.off('close', onClose);
          sock.off('error', onError);
          signal?.removeEventListener('abort', onAbort);
          sock.destroy();
          if (err === undefined) resolve();
          else reject(err);
        };
        sock.on('data', onData);
        sock.once('close', onClose);
        sock.once('error', onError);
        if (signal?.aborted) onAbort();
        else signal?.addEventListener('abort', onAbort, { once: true });
        const rest = decoder.takeRemainder();
        if (rest.length > 0) onData(Buffer.from(rest));
      });
    } finally {
      sock.destroy();
    }
  }

  /** One request on a fresh socket. */
  async request(req: UsbmuxRequest): Promise<UsbmuxReply> {
    const sock = await this.open();
    try {
      return await this.exchange(sock, new UsbmuxDecoder(), req);
    } finally {
      sock.destroy();
    }
  }

  private async open(signal?: AbortSignal): Promise<Socket> {
    try {
      return await connectSocket(this.address, { timeoutMs: this.timeoutMs, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (isIbackupError(err) && err.code === 'CANCELLED') throw err;
      throw this.unreachable(err);
    }
  }

  private exchange(
    sock: Socket,
    decoder: UsbmuxDecoder,
    req: UsbmuxRequest,
    signal?: AbortSignal,
  ): Promise<UsbmuxReply> {
    const tag = this.tag++;
    return new Promise<UsbmuxReply>((resolve, reject) => {
      const timer = setTimeout(() => finish(noAnswer(this.timeoutMs)), this.timeoutMs);
      const onData = (chunk: Buffer): void => {
        try {
          const reply = nextReply(decoder, chunk);
          if (reply) finish(undefined, reply);
        } catch (err) {
          finish(err);
        }
      };
      const onClose = (): void =>
        finish(new IbackupError('CONNECTION_CLOSED', { message: 'usbmuxd closed the connection without answering.' }));
      // A reset (ECONNRESET, EPIPE) must reject, not crash the process as an unhandled 'error'.
      const onError = (err: Error): void =>
        finish(
          new IbackupError('CONNECTION_CLOSED', {
            message: `The connection to usbmuxd failed: ${err.message}.`,
            cause: err,
          }),
        );
      const onAbort = (): void => finish(new IbackupError('CANCELLED'));
      const finish = (err: unknown, reply?: UsbmuxReply): void => {
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('close', onClose);
        sock.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
        if (reply) resolve(reply);
        else reject(err);
      };
      sock.on('data', onData);
      sock.once('close', onClose);
      sock.once('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      sock.write(encodeUsbmuxPacket({ tag, payload: encodeUsbmuxRequest(req) }));
    });
  }

  private unreachable(cause: unknown): IbackupError {
    return new IbackupError('USBMUXD_UNREACHABLE', {
      message: `Cannot reach usbmuxd at ${describe(this.address)}, the service that talks to iPhones over USB.`,
      cause,
      details: { address: describe(this.address) },
    });
  }

  private unexpected(what: string, reply: UsbmuxReply): IbackupError {
    const detail = reply.MessageType === 'Result' ? `result ${reply.Number}` : `a ${reply.MessageType} message`;
    return new IbackupError('PROTOCOL_DECODE', { message: `usbmuxd answered ${what} with ${detail}.` });
  }
}

function noAnswer(timeoutMs: number): IbackupError {
  return new IbackupError('TIMEOUT', { message: `usbmuxd did not answer within ${Math.round(timeoutMs / 1000)} s.` });
}

/** Feeds a chunk; the reply once a whole packet is in (a binary-protocol packet is refused). */
function nextReply(decoder: UsbmuxDecoder, chunk: Buffer): UsbmuxReply | undefined {
  decoder.feed(chunk);
  const p = decoder.next();
  if (!p) return undefined;
  if (p.kind !== 'plist') {
    throw new IbackupError('PROTOCOL_DECODE', {
      message: 'usbmuxd answered in the old binary protocol, which ibackup does not speak.',
      remedy: 'Update usbmuxd (libimobiledevice) or the Apple Mobile Device service.',
    });
  }
  return decodeUsbmuxMessage(p.payload);
}
