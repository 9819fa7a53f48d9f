/**
 * usbmuxd control protocol: a 16-byte little-endian header (length including the header, version,
 * message type, tag) and a body, an XML plist for version 1 / message type 8 (PLIST).
 * Typed requests and replies are in usbmux-messages.ts.
 */
import { IbackupError, decodeError } from '../errors.js';
import { ChunkBuffer } from './chunk-buffer.js';
import { parseFramePlist } from './frames.js';
import { isPlistDict, serializeXmlPlist, type PlistDict } from './plist/index.js';

export const USBMUX_HEADER_SIZE = 16;

/** Header `message` values: PLIST for every modern client, the rest from the legacy binary protocol. */
export const UsbmuxMessageType = {
  Result: 1,
  Connect: 2,
  Listen: 3,
  DeviceAdd: 4,
  DeviceRemove: 5,
  DevicePaired: 6,
  Plist: 8,
} as const;

/** Header `version`: 0 legacy binary, 1 plist. */
export const USBMUX_VERSION_BINARY = 0;
export const USBMUX_VERSION_PLIST = 1;

/** `Number` of a Result message. Pair-record commands reuse errno values (ENOENT 2, EINVAL 22). */
export const UsbmuxResult = {
  OK: 0,
  BADCOMMAND: 1,
  BADDEV: 2,
  CONNREFUSED: 3,
  NOSUCHSERVICE: 4,
  BADVERSION: 6,
  ENOENT: 2,
  EINVAL: 22,
} as const;

/** Largest packet usbmuxd itself accepts from a client (its command buffer). */
export const USBMUXD_COMMAND_LIMIT = 64 * 1024;
export const DEFAULT_USBMUX_MAX_PACKET_SIZE = 16 * 1024 * 1024;

/** A private MessageType for the emulator's control channel; real usbmuxd answers it BADCOMMAND. */
export const USBMUX_EMULATOR_CONTROL = 'IbackupEmulatorCtl';

export interface UsbmuxPacketInput {
  tag: number;
  payload: PlistDict;
  /** Default 1 (plist). */
  version?: number;
  /** Default 8 (PLIST). */
  messageType?: number;
}

function header(length: number, version: number, messageType: number, tag: number): Uint8Array {
  for (const [what, v] of [
    ['length', length],
    ['version', version],
    ['message type', messageType],
    ['tag', tag],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new IbackupError('INTERNAL', { message: `Invalid usbmux ${what} ${v}.` });
    }
  }
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length, true);
  view.setUint32(4, version, true);
  view.setUint32(8, messageType, true);
  view.setUint32(12, tag, true);
  return out;
}

/** A packet with an XML plist body. */
export function encodeUsbmuxPacket(input: UsbmuxPacketInput): Uint8Array {
  const body = serializeXmlPlist(input.payload);
  const out = header(
    USBMUX_HEADER_SIZE + body.length,
    input.version ?? USBMUX_VERSION_PLIST,
    input.messageType ?? UsbmuxMessageType.Plist,
    input.tag,
  );
  out.set(body, USBMUX_HEADER_SIZE);
  return out;
}

/** A legacy binary (version 0) packet with a raw body. */
export function encodeUsbmuxBinaryPacket(tag: number, messageType: number, body: Uint8Array): Uint8Array {
  const out = header(USBMUX_HEADER_SIZE + body.length, USBMUX_VERSION_BINARY, messageType, tag);
  out.set(body, USBMUX_HEADER_SIZE);
  return out;
}

/** A legacy binary RESULT packet (`u32 result`), for answering version-0 clients. */
export function encodeUsbmuxBinaryResult(tag: number, result: number): Uint8Array {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setUint32(0, result, true);
  return encodeUsbmuxBinaryPacket(tag, UsbmuxMessageType.Result, body);
}

export type UsbmuxPacket =
  | { kind: 'plist'; version: number; messageType: number; tag: number; payload: PlistDict }
  /** Any other header combination, body left as bytes (legacy binary protocol). */
  | { kind: 'binary'; version: number; messageType: number; tag: number; body: Uint8Array };

/** The result code of a legacy binary RESULT body. */
export function decodeUsbmuxBinaryResult(body: Uint8Array): number {
  if (body.length < 4) throw decodeError('usbmux binary result shorter than 4 bytes');
  return new DataView(body.buffer, body.byteOffset, body.length).getUint32(0, true);
}

export interface UsbmuxDecoderOptions {
  /** Largest packet accepted, header included (default 16 MiB). */
  maxPacketSize: number;
}

/**
 * Incremental packet decoder. A packet with message type PLIST is parsed (XML or binary plist,
 * which must be a dict); others are returned as bytes. After a successful Connect the socket
 * carries raw device bytes: `takeRemainder()` returns whatever was buffered past the last packet.
 */
export class UsbmuxDecoder {
  private readonly buffer = new ChunkBuffer();
  private readonly maxPacketSize: number;

  constructor(options: Partial<UsbmuxDecoderOptions> = {}) {
    this.maxPacketSize = options.maxPacketSize ?? DEFAULT_USBMUX_MAX_PACKET_SIZE;
  }

  get pending(): number {
    return this.buffer.length;
  }

  feed(chunk: Uint8Array): void {
    this.buffer.append(chunk);
  }

  /** The next complete packet, or undefined until more bytes arrive. */
  next(): UsbmuxPacket | undefined {
    if (this.buffer.length < USBMUX_HEADER_SIZE) return undefined;
    const head = this.buffer.peek(USBMUX_HEADER_SIZE);
    const view = new DataView(head.buffer, head.byteOffset, USBMUX_HEADER_SIZE);
    const length = view.getUint32(0, true);
    if (length < USBMUX_HEADER_SIZE) throw decodeError(`usbmux packet length ${length} is below the 16-byte header`);
    if (length > this.maxPacketSize) {
      throw new IbackupError('FRAME_TOO_LARGE', {
        message: `A usbmux packet of ${length} bytes exceeds the limit of ${this.maxPacketSize}.`,
      });
    }
    if (this.buffer.length < length) return undefined;
    const version = view.getUint32(4, true);
    const messageType = view.getUint32(8, true);
    const tag = view.getUint32(12, true);
    this.buffer.skip(USBMUX_HEADER_SIZE);
    const body = this.buffer.take(length - USBMUX_HEADER_SIZE);
    if (messageType !== UsbmuxMessageType.Plist) return { kind: 'binary', version, messageType, tag, body };
    if (body.length === 0) throw decodeError('usbmux plist packet without a body');
    const payload = parseFramePlist(body);
    if (!isPlistDict(payload)) throw decodeError('usbmux plist body is not a dictionary');
    return { kind: 'plist', version, messageType, tag, payload };
  }

  push(chunk: Uint8Array): UsbmuxPacket[] {
    this.feed(chunk);
    const out: UsbmuxPacket[] = [];
    for (let p = this.next(); p !== undefined; p = this.next()) out.push(p);
    return out;
  }

  takeRemainder(): Uint8Array {
    return this.buffer.takeAll();
  }
}

export * from './usbmux-messages.js';
