/**
 * The usbmuxd role of the virtual iPhone: one client connection of the usbmuxd protocol
 * (ListDevices, Listen, Connect, pair records, ReadBUID, ListListeners and the private control
 * message). After a successful Connect the socket becomes a raw pipe to the device port.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isIbackupError } from '../errors.js';
import type { PlistDict, PlistValue } from '../protocol/plist/index.js';
import {
  USBMUX_EMULATOR_CONTROL,
  UsbmuxDecoder,
  UsbmuxResult,
  encodeUsbmuxBinaryResult,
  encodeUsbmuxPacket,
  type UsbmuxPacket,
} from '../protocol/usbmux.js';
import { Link } from '../transport/link.js';

/** A device as the usbmuxd role sees it. */
export interface MuxDevice {
  readonly deviceId: number;
  readonly udid: string;
  /** The `Attached` dictionary (MessageType, DeviceID, Properties). */
  attachedRecord(): PlistDict;
  /** True when something listens on that device port. */
  acceptsPort(port: number): boolean;
  /** Hands a connection to a device port (checked with acceptsPort first). */
  connect(port: number, link: Link): void;
  /** What the device side of a connection goes through (a Wi-Fi link); default the socket itself. */
  carry?(host: Duplex): Duplex;
}

export type MuxEvent =
  | { type: 'attached'; device: MuxDevice }
  | { type: 'detached'; deviceId: number }
  | { type: 'paired'; deviceId: number };

/** What the usbmuxd role needs from the emulator. */
export interface MuxHost {
  /** Every entry usbmuxd lists: USB devices and network (Wi-Fi) ones. */
  muxDevices(): MuxDevice[];
  systemBuid(): string;
  readPairRecord(udid: string): Promise<Uint8Array | null>;
  savePairRecord(udid: string, data: Uint8Array): Promise<void>;
  deletePairRecord(udid: string): Promise<boolean>;
  /** Subscribes to hotplug events; returns the unsubscribe function. */
  subscribe(listener: (e: MuxEvent) => void): () => void;
  /** The private control channel; returns a JSON-able result or throws IbackupError. */
  control(request: PlistDict): Promise<unknown>;
  /** Called for every client, for ListListeners. */
  listeners(): PlistDict[];
  registerClient(info: PlistDict): () => void;
}

/** Serves one usbmuxd client socket. */
export function serveUsbmuxClient(sock: Socket, host: MuxHost): void {
  const client = new MuxClient(sock, host);
  sock.on('data', client.onData);
  sock.on('error', () => sock.destroy());
  sock.on('close', () => client.cleanup());
}

/** One client of the usbmuxd role: its requests in order, until it closes or connects to a port. */
class MuxClient {
  private readonly decoder = new UsbmuxDecoder();
  private unsubscribe: (() => void) | undefined;
  private unregister: (() => void) | undefined;
  private busy = Promise.resolve();
  private handedOff = false;

  constructor(
    private readonly sock: Socket,
    private readonly host: MuxHost,
  ) {}

  readonly onData = (chunk: Buffer): void => {
    this.decoder.feed(chunk);
    this.busy = this.busy
      .then(() => this.drain())
      .catch(() => {
        this.sock.destroy();
      });
  };

  cleanup(): void {
    this.unsubscribe?.();
    this.unregister?.();
    this.unsubscribe = undefined;
    this.unregister = undefined;
  }

  private send(tag: number, payload: PlistDict, version = 1): void {
    if (!this.sock.destroyed) this.sock.write(encodeUsbmuxPacket({ tag, payload, version }));
  }

  private result(tag: number, n: number, version = 1): void {
    this.send(tag, { MessageType: 'Result', Number: n }, version);
  }

  private async drain(): Promise<void> {
    while (!this.handedOff && !this.sock.destroyed) {
      let packet: UsbmuxPacket | undefined;
      try {
        packet = this.decoder.next();
      } catch {
        this.sock.destroy(); // garbage or an oversized packet: usbmuxd drops such a client
        return;
      }
      if (!packet) return;
      await this.handle(packet);
    }
  }

  private async handle(p: UsbmuxPacket): Promise<void> {
    if (p.kind === 'binary') {
      // The legacy binary protocol is not spoken; clients then retry with plists.
      this.sock.write(encodeUsbmuxBinaryResult(p.tag, UsbmuxResult.BADVERSION));
      return;
    }
    if (p.version !== 1) {
      this.result(p.tag, UsbmuxResult.BADVERSION, p.version > 1 ? 1 : p.version);
      return;
    }
    const msg = p.payload;
    const tag = p.tag;
    this.unregister ??= this.host.registerClient(msg);
    switch (msg.MessageType) {
      case 'ListDevices':
        return this.send(tag, { DeviceList: this.host.muxDevices().map((d) => d.attachedRecord()) });
      case 'Listen':
        return this.listen(tag);
      case 'Connect':
        return this.connect(tag, msg);
      case 'ReadBUID':
        return this.send(tag, { BUID: this.host.systemBuid() });
      case 'ReadPairRecord':
        return this.readPairRecord(tag, msg);
      case 'SavePairRecord':
        return this.savePairRecord(tag, msg);
      case 'DeletePairRecord':
        return this.deletePairRecord(tag, msg);
      case 'ListListeners':
        return this.send(tag, { ListenerList: this.host.listeners() });
      case USBMUX_EMULATOR_CONTROL:
        return this.control(tag, msg);
      default:
        return this.result(tag, UsbmuxResult.BADCOMMAND);
    }
  }

  private listen(tag: number): void {
    this.result(tag, UsbmuxResult.OK);
    for (const d of this.host.muxDevices()) this.send(0, d.attachedRecord());
    this.unsubscribe ??= this.host.subscribe((e) => {
      if (e.type === 'attached') this.send(0, e.device.attachedRecord());
      else if (e.type === 'detached') this.send(0, { MessageType: 'Detached', DeviceID: e.deviceId });
      else this.send(0, { MessageType: 'Paired', DeviceID: e.deviceId });
    });
  }

  /** Connect: after OK the socket is a raw pipe to the device port. */
  private connect(tag: number, msg: PlistDict): void {
    const id = msg.DeviceID;
    const portNumber = msg.PortNumber;
    if (typeof portNumber !== 'number') return this.result(tag, UsbmuxResult.BADCOMMAND);
    const device = this.host.muxDevices().find((d) => d.deviceId === id);
    if (!device) return this.result(tag, UsbmuxResult.BADDEV);
    const port = ((portNumber & 0xff) << 8) | ((portNumber >> 8) & 0xff);
    if (!device.acceptsPort(port)) return this.result(tag, UsbmuxResult.CONNREFUSED);
    this.handedOff = true;
    this.sock.off('data', this.onData);
    const leftover = this.decoder.takeRemainder();
    this.result(tag, UsbmuxResult.OK);
    const link = new Link(device.carry ? device.carry(this.sock) : this.sock);
    this.cleanup();
    device.connect(port, link);
    if (leftover.length > 0) link.feedRaw(leftover);
  }

  private async readPairRecord(tag: number, msg: PlistDict): Promise<void> {
    const id = stringOf(msg.PairRecordID);
    if (id === undefined) return this.result(tag, UsbmuxResult.EINVAL);
    const data = await this.host.readPairRecord(id);
    if (data === null) this.result(tag, UsbmuxResult.ENOENT);
    else this.send(tag, { PairRecordData: data });
  }

  private async savePairRecord(tag: number, msg: PlistDict): Promise<void> {
    const id = stringOf(msg.PairRecordID);
    const data = msg.PairRecordData;
    if (id === undefined || !(data instanceof Uint8Array) || data.length === 0)
      return this.result(tag, UsbmuxResult.EINVAL);
    try {
      await this.host.savePairRecord(id, data);
    } catch {
      // Not a plist dict, or an id that cannot name a file: usbmuxd answers EINVAL and goes on.
      return this.result(tag, UsbmuxResult.EINVAL);
    }
    this.result(tag, UsbmuxResult.OK);
  }

  private async deletePairRecord(tag: number, msg: PlistDict): Promise<void> {
    const id = stringOf(msg.PairRecordID);
    if (id === undefined) return this.result(tag, UsbmuxResult.EINVAL);
    this.result(tag, (await this.host.deletePairRecord(id)) ? UsbmuxResult.OK : UsbmuxResult.ENOENT);
  }

  /** The emulator's private control message: a JSON result, or the error as JSON. */
  private async control(tag: number, msg: PlistDict): Promise<void> {
    try {
      const value = await this.host.control(msg);
      this.send(tag, { MessageType: 'Result', Number: 0, Json: JSON.stringify(value ?? null) });
    } catch (err) {
      const e = isIbackupError(err)
        ? err.toJSON()
        : { code: 'INTERNAL', message: String(err instanceof Error ? err.message : err), remedy: '' };
      this.send(tag, { MessageType: 'Result', Number: 1, Json: JSON.stringify({ error: e }) });
    }
  }
}

function stringOf(v: PlistValue | undefined): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
