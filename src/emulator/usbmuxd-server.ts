/**
 * The usbmuxd role of the virtual iPhone: one client connection of the usbmuxd protocol
 * (ListDevices, Listen, Connect, pair records, ReadBUID, ListListeners and the private control
 * message). After a successful Connect the socket becomes a raw pipe to the device port.
 */
import type { Socket } from 'node:net';
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
}

export type MuxEvent =
  | { type: 'attached'; device: MuxDevice }
  | { type: 'detached'; deviceId: number }
  | { type: 'paired'; deviceId: number };

/** What the usbmuxd role needs from the emulator. */
export interface MuxHost {
  devices(): MuxDevice[];
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
  const decoder = new UsbmuxDecoder();
  let unsubscribe: (() => void) | undefined;
  let unregister: (() => void) | undefined;
  let busy = Promise.resolve();
  let handedOff = false;

  const cleanup = (): void => {
    unsubscribe?.();
    unregister?.();
    unsubscribe = undefined;
    unregister = undefined;
  };
  const send = (tag: number, payload: PlistDict, version = 1): void => {
    if (!sock.destroyed) sock.write(encodeUsbmuxPacket({ tag, payload, version }));
  };
  const result = (tag: number, n: number, version = 1): void =>
    send(tag, { MessageType: 'Result', Number: n }, version);

  const onData = (chunk: Buffer): void => {
    decoder.feed(chunk);
    busy = busy.then(drain).catch(() => {
      sock.destroy();
    });
  };

  async function drain(): Promise<void> {
    while (!handedOff && !sock.destroyed) {
      let packet: UsbmuxPacket | undefined;
      try {
        packet = decoder.next();
      } catch {
        sock.destroy(); // garbage or an oversized packet: usbmuxd drops such a client
        return;
      }
      if (!packet) return;
      await handle(packet);
    }
  }

  async function handle(p: UsbmuxPacket): Promise<void> {
    if (p.kind === 'binary') {
      // The legacy binary protocol is not spoken; clients then retry with plists.
      sock.write(encodeUsbmuxBinaryResult(p.tag, UsbmuxResult.BADVERSION));
      return;
    }
    if (p.version !== 1) {
      result(p.tag, UsbmuxResult.BADVERSION, p.version > 1 ? 1 : p.version);
      return;
    }
    const msg = p.payload;
    const tag = p.tag;
    unregister ??= host.registerClient(msg);
    switch (msg.MessageType) {
      case 'ListDevices':
        send(tag, { DeviceList: host.devices().map((d) => d.attachedRecord()) });
        return;
      case 'Listen':
        result(tag, UsbmuxResult.OK);
        for (const d of host.devices()) send(0, d.attachedRecord());
        unsubscribe ??= host.subscribe((e) => {
          if (e.type === 'attached') send(0, e.device.attachedRecord());
          else if (e.type === 'detached') send(0, { MessageType: 'Detached', DeviceID: e.deviceId });
          else send(0, { MessageType: 'Paired', DeviceID: e.deviceId });
        });
        return;
      case 'Connect': {
        const id = msg.DeviceID;
        const portNumber = msg.PortNumber;
        if (typeof portNumber !== 'number') {
          result(tag, UsbmuxResult.BADCOMMAND);
          return;
        }
        const device = host.devices().find((d) => d.deviceId === id);
        if (!device) {
          result(tag, UsbmuxResult.BADDEV);
          return;
        }
        const port = ((portNumber & 0xff) << 8) | ((portNumber >> 8) & 0xff);
        if (!device.acceptsPort(port)) {
          result(tag, UsbmuxResult.CONNREFUSED);
          return;
        }
        handedOff = true;
        sock.off('data', onData);
        const leftover = decoder.takeRemainder();
        const link = new Link(sock);
        result(tag, UsbmuxResult.OK);
        cleanup();
        device.connect(port, link);
        if (leftover.length > 0) link.feedRaw(leftover);
        return;
      }
      case 'ReadBUID':
        send(tag, { BUID: host.systemBuid() });
        return;
      case 'ReadPairRecord': {
        const id = stringOf(msg.PairRecordID);
        if (id === undefined) return result(tag, UsbmuxResult.EINVAL);
        const data = await host.readPairRecord(id);
        if (data === null) result(tag, UsbmuxResult.ENOENT);
        else send(tag, { PairRecordData: data });
        return;
      }
      case 'SavePairRecord': {
        const id = stringOf(msg.PairRecordID);
        const data = msg.PairRecordData;
        if (id === undefined || !(data instanceof Uint8Array) || data.length === 0)
          return result(tag, UsbmuxResult.EINVAL);
        try {
          await host.savePairRecord(id, data);
        } catch {
          // Not a plist dict, or an id that cannot name a file: usbmuxd answers EINVAL and goes on.
          return result(tag, UsbmuxResult.EINVAL);
        }
        result(tag, UsbmuxResult.OK);
        return;
      }
      case 'DeletePairRecord': {
        const id = stringOf(msg.PairRecordID);
        if (id === undefined) return result(tag, UsbmuxResult.EINVAL);
        result(tag, (await host.deletePairRecord(id)) ? UsbmuxResult.OK : UsbmuxResult.ENOENT);
        return;
      }
      case 'ListListeners':
        send(tag, { ListenerList: host.listeners() });
        return;
      case USBMUX_EMULATOR_CONTROL:
        try {
          const value = await host.control(msg);
          send(tag, { MessageType: 'Result', Number: 0, Json: JSON.stringify(value ?? null) });
        } catch (err) {
          const e = isIbackupError(err)
            ? err.toJSON()
            : { code: 'INTERNAL', message: String(err instanceof Error ? err.message : err), remedy: '' };
          send(tag, { MessageType: 'Result', Number: 1, Json: JSON.stringify({ error: e }) });
        }
        return;
      default:
        result(tag, UsbmuxResult.BADCOMMAND);
    }
  }

  sock.on('data', onData);
  sock.on('error', () => sock.destroy());
  sock.on('close', cleanup);
}

function stringOf(v: PlistValue | undefined): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
