/**
 * The raw file stream of DeviceLink (mobilebackup2), carried unframed between two plist frames.
 *
 * All lengths are u32 big-endian. Per file: one path (host → device, answering
 * DLMessageDownloadFiles) or two paths (device → host, DLMessageUploadFiles: the device-side name,
 * then the path relative to the backup root), each as `[len][bytes]`; then blocks
 * `[len][code][len - 1 bytes]`: file data (0x0C) any number of times, then success (0x00) or an
 * error (0x06 sender-side, 0x0B device-side) carrying a message. A zero length where the next file
 * would start ends the stream; a zero length in place of a block header also ends it (the file is
 * then incomplete).
 */
import { IbackupError, decodeError } from '../errors.js';
import { concatBytes } from './bytes.js';

export const DL_CODE_SUCCESS = 0x00;
export const DL_CODE_ERROR_LOCAL = 0x06;
export const DL_CODE_ERROR_REMOTE = 0x0b;
export const DL_CODE_FILE_DATA = 0x0c;

/** Data block size used by Apple and libimobiledevice when sending files. */
export const DL_FILE_CHUNK_SIZE = 32 * 1024;

/** The four zero bytes that end a file stream. */
export const DL_STREAM_TERMINATOR: Uint8Array = new Uint8Array(4);

export type DlStreamDirection =
  /** Device → host (DLMessageUploadFiles): two paths per file. */
  | 'upload'
  /** Host → device (answer to DLMessageDownloadFiles): one path per file. */
  | 'download';

export type DlFileStreamEvent =
  | {
      type: 'file-start';
      /** The path relative to the backup root. */
      backupPath: string;
      /** The device-side name (upload streams only; informational). */
      devicePath?: string;
    }
  /** A piece of file data; views into the pushed chunks, valid until the caller drops them. */
  | { type: 'data'; bytes: Uint8Array }
  | {
      type: 'file-end';
      ok: boolean;
      /** The block code of the error (DL_CODE_ERROR_LOCAL or DL_CODE_ERROR_REMOTE). */
      errorCode?: number;
      message?: string;
      /** True when the stream ended before the file's final block. */
      incomplete?: boolean;
    }
  | { type: 'end' };

export interface DlFileStreamLimits {
  /** Longest path, in bytes (default 4096). */
  maxPathLength: number;
  /** Longest block, code byte included (default 8 MiB). Data is never buffered whole. */
  maxBlockLength: number;
  /** Longest error message, in bytes (default 64 KiB). */
  maxMessageLength: number;
}

export const DEFAULT_DL_FILE_STREAM_LIMITS: DlFileStreamLimits = {
  maxPathLength: 4096,
  maxBlockLength: 8 * 1024 * 1024,
  maxMessageLength: 64 * 1024,
};

type State =
  'name-len' | 'name' | 'path-len' | 'path' | 'block-len' | 'block-code' | 'block-data' | 'block-msg' | 'done';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw decodeError(`${what} is not valid UTF-8`, cause);
  }
}

/**
 * Incremental parser of one DeviceLink file stream. Feed bytes with `push`; after the `end` event
 * `done` is true and `takeRemainder()` returns the bytes that followed the stream (the next frame).
 */
export class DlFileStreamParser {
  private readonly direction: DlStreamDirection;
  private readonly limits: DlFileStreamLimits;
  private state: State = 'name-len';
  /** Up to 4 header bytes split across chunks. */
  private readonly word = new Uint8Array(4);
  private wordFill = 0;
  /**
   * A path or message being read: its length (checked against the limits) and the bytes so far.
   * One that arrives whole in a chunk is decoded where it lies; one split across chunks is
   * gathered in `gathered`, which grows as needed and is used again for the next.
   */
  private textLength = 0;
  private textFill = 0;
  private gathered: Uint8Array = new Uint8Array(0);
  private remaining = 0;
  private blockCode = 0;
  private deviceName: string | undefined;
  private remainder: Uint8Array[] = [];

  constructor(direction: DlStreamDirection, limits: Partial<DlFileStreamLimits> = {}) {
    this.direction = direction;
    this.limits = { ...DEFAULT_DL_FILE_STREAM_LIMITS, ...limits };
  }

  /** True once the terminator was read. */
  get done(): boolean {
    return this.state === 'done';
  }

  /** Bytes received after the end of the stream; empties the store. */
  takeRemainder(): Uint8Array {
    const parts = this.remainder;
    this.remainder = [];
    if (parts.length === 1 && parts[0] !== undefined) return parts[0];
    return concatBytes(parts);
  }

  push(chunk: Uint8Array): DlFileStreamEvent[] {
    const events: DlFileStreamEvent[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.state) {
        case 'done':
          this.remainder.push(chunk.subarray(pos));
          return events;
        case 'name-len':
        case 'path-len':
        case 'block-len': {
          pos = this.fillWord(chunk, pos, 4);
          if (this.wordFill === 4) this.onLength(this.readWord(), events);
          break;
        }
        case 'block-code': {
          this.blockCode = chunk[pos] ?? 0;
          pos += 1;
          this.onBlockCode(events);
          break;
        }
        case 'name':
        case 'path':
        case 'block-msg': {
          const need = this.textLength - this.textFill;
          if (this.textFill === 0 && chunk.length - pos >= need) {
            pos += need;
            this.onText(events, chunk.subarray(pos - need, pos));
            break;
          }
          if (this.gathered.length < this.textLength)
            this.gathered = new Uint8Array(Math.max(this.textLength, 2 * this.gathered.length));
          const take = Math.min(need, chunk.length - pos);
          this.gathered.set(chunk.subarray(pos, pos + take), this.textFill);
          this.textFill += take;
          pos += take;
          if (this.textFill === this.textLength) this.onText(events, this.gathered.subarray(0, this.textLength));
          break;
        }
        case 'block-data': {
          const take = Math.min(this.remaining, chunk.length - pos);
          events.push({ type: 'data', bytes: chunk.subarray(pos, pos + take) });
          this.remaining -= take;
          pos += take;
          if (this.remaining === 0) this.state = 'block-len';
          break;
        }
      }
    }
    return events;
  }

  /** Byte by byte (a word is 4 bytes at most): no view made per word. */
  private fillWord(chunk: Uint8Array, pos: number, size: number): number {
    const end = pos + Math.min(size - this.wordFill, chunk.length - pos);
    while (pos < end) this.word[this.wordFill++] = chunk[pos++] as number;
    return pos;
  }

  private readWord(): number {
    this.wordFill = 0;
    return uint32At(this.word, 0);
  }

  private startText(length: number, max: number, what: string): void {
    if (length > max) {
      throw new IbackupError('FRAME_TOO_LARGE', {
        message: `The device sent a ${what} of ${length} bytes (limit ${max}).`,
      });
    }
    this.textLength = length;
    this.textFill = 0;
  }

  private onLength(length: number, events: DlFileStreamEvent[]): void {
    if (this.state === 'name-len') {
      if (length === 0) {
        this.finish(events);
        return;
      }
      this.startText(length, this.limits.maxPathLength, 'file path');
      this.state = 'name';
    } else if (this.state === 'path-len') {
      if (length === 0) throw decodeError('empty backup path in a file stream');
      this.startText(length, this.limits.maxPathLength, 'file path');
      this.state = 'path';
    } else {
      if (length === 0) {
        events.push({ type: 'file-end', ok: false, incomplete: true, message: 'The stream ended inside a file.' });
        this.finish(events);
        return;
      }
      if (length > this.limits.maxBlockLength) {
        throw new IbackupError('FRAME_TOO_LARGE', {
          message: `The device sent a file block of ${length} bytes (limit ${this.limits.maxBlockLength}).`,
        });
      }
      this.remaining = length - 1;
      this.state = 'block-code';
    }
  }

  private onBlockCode(events: DlFileStreamEvent[]): void {
    const code = this.blockCode;
    if (code === DL_CODE_FILE_DATA) {
      this.state = this.remaining === 0 ? 'block-len' : 'block-data';
      return;
    }
    if (code !== DL_CODE_SUCCESS && code !== DL_CODE_ERROR_LOCAL && code !== DL_CODE_ERROR_REMOTE) {
      throw decodeError(`unknown file stream block code 0x${code.toString(16).padStart(2, '0')}`);
    }
    this.startText(this.remaining, this.limits.maxMessageLength, 'file stream message');
    this.state = 'block-msg';
    if (this.remaining === 0) this.onText(events, new Uint8Array(0));
  }

  private onText(events: DlFileStreamEvent[], text: Uint8Array): void {
    if (this.state === 'name') {
      const name = decodeUtf8(text, 'a file path');
      if (this.direction === 'upload') {
        this.deviceName = name;
        this.state = 'path-len';
      } else {
        events.push({ type: 'file-start', backupPath: name });
        this.state = 'block-len';
      }
    } else if (this.state === 'path') {
      const backupPath = decodeUtf8(text, 'a file path');
      events.push({ type: 'file-start', backupPath, devicePath: this.deviceName ?? '' });
      this.deviceName = undefined;
      this.state = 'block-len';
    } else {
      const code = this.blockCode;
      const message = text.length > 0 ? decodeUtf8(text, 'a file stream message') : undefined;
      if (code === DL_CODE_SUCCESS) {
        events.push(message === undefined ? { type: 'file-end', ok: true } : { type: 'file-end', ok: true, message });
      } else {
        events.push({ type: 'file-end', ok: false, errorCode: code, message: message ?? '' });
      }
      this.state = 'name-len';
    }
    this.textLength = 0;
    this.textFill = 0;
  }

  private finish(events: DlFileStreamEvent[]): void {
    events.push({ type: 'end' });
    this.state = 'done';
  }
}

// ---- writers ----

/**
 * Big-endian 32-bit numbers, written and read byte by byte: a small Uint8Array lives in V8's heap
 * until its `.buffer` is asked for, which moves it out (an allocation of its own, and memory the
 * collector counts as external), once for every 32 KiB data block a restore sends.
 */
function setUint32At(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

function uint32At(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  );
}

function lengthPrefixed(body: Uint8Array, code?: number): Uint8Array {
  const extra = code === undefined ? 0 : 1;
  const out = new Uint8Array(4 + extra + body.length);
  setUint32At(out, 0, body.length + extra);
  if (code !== undefined) out[4] = code;
  out.set(body, 4 + extra);
  return out;
}

function pathBytes(path: string): Uint8Array {
  if (path.length === 0) throw new IbackupError('INTERNAL', { message: 'A file stream path must not be empty.' });
  return utf8Encoder.encode(path);
}

/** Host → device: the header of one file answering DLMessageDownloadFiles. */
export function encodeDlDownloadFileHeader(backupPath: string): Uint8Array {
  return lengthPrefixed(pathBytes(backupPath));
}

/** Device → host: the header of one file of DLMessageUploadFiles (device name, then backup path). */
export function encodeDlUploadFileHeader(devicePath: string, backupPath: string): Uint8Array {
  const out = Buffer.allocUnsafe(uploadFileHeaderRoom(devicePath, backupPath));
  const end = writeDlUploadFileHeader(out, 0, devicePath, backupPath);
  return new Uint8Array(out.buffer, out.byteOffset, end);
}

/** Bytes enough for the upload header of these paths (UTF-8 takes at most 3 bytes a character). */
export function uploadFileHeaderRoom(devicePath: string, backupPath: string): number {
  return 8 + 3 * (devicePath.length + backupPath.length);
}

/**
 * Writes the upload header of a file into `out` at `at` (room: `uploadFileHeaderRoom`), each path
 * encoded straight into place (this runs once per file of a backup); returns where it ends.
 */
export function writeDlUploadFileHeader(out: Buffer, at: number, devicePath: string, backupPath: string): number {
  if (devicePath.length === 0 || backupPath.length === 0) pathBytes('');
  const a = out.write(devicePath, at + 4, 'utf8');
  out.writeUInt32BE(a, at);
  const b = out.write(backupPath, at + 8 + a, 'utf8');
  out.writeUInt32BE(b, at + 4 + a);
  return at + 8 + a + b;
}

/** The 5-byte header of a data block of `length` bytes; the data follows it unchanged. */
export function encodeDlDataBlockHeader(length: number): Uint8Array {
  if (!Number.isInteger(length) || length <= 0 || length >= 0xffffffff) {
    throw new IbackupError('INTERNAL', { message: `Invalid file data block length ${length}.` });
  }
  const out = new Uint8Array(5);
  setUint32At(out, 0, length + 1);
  out[4] = DL_CODE_FILE_DATA;
  return out;
}

/** Data blocks (header + data) for `bytes`, split every `chunkSize` bytes; none for empty input. */
export function encodeDlDataBlocks(bytes: Uint8Array, chunkSize = DL_FILE_CHUNK_SIZE): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) {
    out.push(lengthPrefixed(bytes.subarray(at, at + chunkSize), DL_CODE_FILE_DATA));
  }
  return out;
}

/** `[00 00 00 01][00]`: the file was sent completely. */
export function encodeDlSuccessBlock(): Uint8Array {
  return lengthPrefixed(new Uint8Array(0), DL_CODE_SUCCESS);
}

/** An error block ending a file: `local` (0x06) from the host, `remote` (0x0B) from the device. */
export function encodeDlErrorBlock(message: string, side: 'local' | 'remote'): Uint8Array {
  return lengthPrefixed(utf8Encoder.encode(message), side === 'local' ? DL_CODE_ERROR_LOCAL : DL_CODE_ERROR_REMOTE);
}
