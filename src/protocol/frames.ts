/**
 * Length-prefixed plist frames (lockdownd, notification_proxy, mobilebackup2):
 * `[u32 big-endian length N][N bytes of plist]`, the plist XML or binary (detected on read).
 */
import { IbackupError, decodeError, isIbackupError } from '../errors.js';
import { ChunkBuffer } from './chunk-buffer.js';
import {
  parsePlist,
  serializeBinaryPlist,
  serializeXmlPlist,
  type PlistLimits,
  type PlistValue,
} from './plist/index.js';

export type PlistFormat = 'xml' | 'binary';

export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024;

/** One frame around already-serialized plist bytes. */
export function encodeRawFrame(body: Uint8Array): Uint8Array {
  if (body.length === 0 || body.length > 0xffffffff) {
    throw new IbackupError('INTERNAL', { message: `Cannot frame a plist of ${body.length} bytes.` });
  }
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, 4);
  return out;
}

/** One frame holding `value` serialized as XML (the default) or binary. */
export function encodeFrame(value: PlistValue, options: { format?: PlistFormat } = {}): Uint8Array {
  const body = options.format === 'binary' ? serializeBinaryPlist(value) : serializeXmlPlist(value);
  return encodeRawFrame(body);
}

export interface FrameDecoderOptions {
  /** Largest accepted frame body (default 64 MiB), checked before any allocation. */
  maxFrameSize: number;
  /** Limits passed to the plist parser. */
  plistLimits?: Partial<PlistLimits>;
}

/**
 * Incremental frame splitter yielding the raw plist bytes of each frame. `feed` + `next` read one
 * frame at a time, for streams where unframed bytes follow a frame (DeviceLink file streams):
 * after such a frame, `takeRemainder()` hands the buffered bytes to the other parser.
 */
export class RawFrameDecoder {
  protected readonly buffer = new ChunkBuffer();
  private readonly maxFrameSize: number;

  constructor(options: Partial<FrameDecoderOptions> = {}) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  /** Bytes held that do not yet form a complete frame. */
  get pending(): number {
    return this.buffer.length;
  }

  feed(chunk: Uint8Array): void {
    this.buffer.append(chunk);
  }

  /** The next complete frame body, or undefined until more bytes arrive. */
  nextRaw(): Uint8Array | undefined {
    if (this.buffer.length < 4) return undefined;
    const head = this.buffer.peek(4);
    const size = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, false);
    if (size === 0) throw decodeError('empty plist frame');
    if (size > this.maxFrameSize) {
      throw new IbackupError('FRAME_TOO_LARGE', {
        message: `The device sent a message of ${size} bytes (limit ${this.maxFrameSize}).`,
      });
    }
    if (this.buffer.length < 4 + size) return undefined;
    this.buffer.skip(4);
    return this.buffer.take(size);
  }

  /** Feeds a chunk and returns every frame body now complete. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.feed(chunk);
    const out: Uint8Array[] = [];
    for (let f = this.nextRaw(); f !== undefined; f = this.nextRaw()) out.push(f);
    return out;
  }

  /** Removes and returns all buffered bytes (for a parser that takes over the stream). */
  takeRemainder(): Uint8Array {
    return this.buffer.takeAll();
  }
}

/** Parses plist bytes (XML or binary), reporting any failure as PROTOCOL_DECODE. */
export function parseFramePlist(body: Uint8Array, limits?: Partial<PlistLimits>): PlistValue {
  try {
    return parsePlist(body, limits);
  } catch (cause) {
    if (isIbackupError(cause)) throw cause;
    throw decodeError('plist frame could not be parsed', cause);
  }
}

/** Incremental frame decoder yielding parsed plist values. */
export class FrameDecoder {
  private readonly raw: RawFrameDecoder;
  private readonly plistLimits: Partial<PlistLimits> | undefined;

  constructor(options: Partial<FrameDecoderOptions> = {}) {
    this.raw = new RawFrameDecoder(options);
    this.plistLimits = options.plistLimits;
  }

  get pending(): number {
    return this.raw.pending;
  }

  feed(chunk: Uint8Array): void {
    this.raw.feed(chunk);
  }

  /** The next complete plist, or undefined until more bytes arrive. */
  next(): PlistValue | undefined {
    const body = this.raw.nextRaw();
    return body === undefined ? undefined : parseFramePlist(body, this.plistLimits);
  }

  push(chunk: Uint8Array): PlistValue[] {
    this.feed(chunk);
    const out: PlistValue[] = [];
    for (let v = this.next(); v !== undefined; v = this.next()) out.push(v);
    return out;
  }

  takeRemainder(): Uint8Array {
    return this.raw.takeRemainder();
  }
}
