/**
 * AFC (com.apple.afc) packets: a 40-byte little-endian header and a body.
 *
 * Header: magic "CFA6LPAA", entire_length (header + header data + payload), this_length
 * (header + header data), packet_num, operation; all u64 little-endian. libimobiledevice puts the
 * request arguments in the header data and bulk bytes in the payload; pymobiledevice3 sends
 * this_length = entire_length. Readers therefore parse `body` (header data and payload together).
 */
import { concatBytes } from './bytes.js';
import { ChunkBuffer } from './chunk-buffer.js';
import { IbackupError, decodeError } from '../errors.js';

export const AFC_MAGIC = 'CFA6LPAA';
export const AFC_HEADER_SIZE = 40;
const MAGIC_BYTES = new TextEncoder().encode(AFC_MAGIC);

/** Operation codes. */
export const AfcOp = {
  Status: 0x01,
  Data: 0x02,
  ReadDir: 0x03,
  ReadFile: 0x04,
  WriteFile: 0x05,
  WritePart: 0x06,
  Truncate: 0x07,
  RemovePath: 0x08,
  MakeDir: 0x09,
  GetFileInfo: 0x0a,
  GetDeviceInfo: 0x0b,
  WriteFileAtomic: 0x0c,
  FileOpen: 0x0d,
  FileOpenResult: 0x0e,
  FileRead: 0x0f,
  FileWrite: 0x10,
  FileSeek: 0x11,
  FileTell: 0x12,
  FileTellResult: 0x13,
  FileClose: 0x14,
  FileSetSize: 0x15,
  GetConnectionInfo: 0x16,
  SetConnectionOptions: 0x17,
  RenamePath: 0x18,
  SetFsBlockSize: 0x19,
  SetSocketBlockSize: 0x1a,
  FileLock: 0x1b,
  MakeLink: 0x1c,
  SetFileTime: 0x1e,
} as const;
export type AfcOpName = keyof typeof AfcOp;

/** Status codes carried by an AfcOp.Status reply (u64 LE). */
export const AfcStatus = {
  Success: 0,
  UnknownError: 1,
  OpHeaderInvalid: 2,
  NoResources: 3,
  ReadError: 4,
  WriteError: 5,
  UnknownPacketType: 6,
  InvalidArg: 7,
  ObjectNotFound: 8,
  ObjectIsDir: 9,
  PermDenied: 10,
  ServiceNotConnected: 11,
  OpTimeout: 12,
  TooMuchData: 13,
  EndOfData: 14,
  OpNotSupported: 15,
  ObjectExists: 16,
  ObjectBusy: 17,
  NoSpaceLeft: 18,
  OpWouldBlock: 19,
  IoError: 20,
  OpInterrupted: 21,
  OpInProgress: 22,
  InternalError: 23,
  MuxError: 30,
  NoMem: 31,
  NotEnoughData: 32,
  DirNotEmpty: 33,
} as const;
export type AfcStatusName = keyof typeof AfcStatus;

/** The name of a status code, or undefined for one not in the table. */
export function afcStatusName(code: number): AfcStatusName | undefined {
  return (Object.keys(AfcStatus) as AfcStatusName[]).find((k) => AfcStatus[k] === code);
}

/** FileOpen modes. */
export const AfcFileMode = {
  ReadOnly: 1, // r
  ReadWrite: 2, // r+ (creates)
  WriteOnly: 3, // w
  WriteRead: 4, // w+
  Append: 5, // a
  ReadAppend: 6, // a+
} as const;

/** FileLock operations: shared, exclusive, unlock, each OR-ed with 4 (non-blocking). */
export const AfcLockOp = {
  Shared: 1 | 4,
  Exclusive: 2 | 4,
  Unlock: 8 | 4,
} as const;

export interface AfcPacketInput {
  packetNum: number;
  operation: number;
  /** Arguments (counted in this_length). */
  headerPayload?: Uint8Array;
  /** Bulk bytes after the arguments. */
  payload?: Uint8Array;
}

export interface AfcPacket {
  packetNum: number;
  operation: number;
  headerPayload: Uint8Array;
  payload: Uint8Array;
  /** headerPayload followed by payload (one view, no copy). */
  body: Uint8Array;
}

function u64(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw decodeError(`AFC ${what} ${v} is out of range`);
  return Number(v);
}

function setU64(view: DataView, at: number, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new IbackupError('INTERNAL', { message: `Invalid AFC ${what} ${value}.` });
  }
  view.setBigUint64(at, BigInt(value), true);
}

export function encodeAfcPacket(input: AfcPacketInput): Uint8Array {
  const head = input.headerPayload ?? new Uint8Array(0);
  const payload = input.payload ?? new Uint8Array(0);
  const thisLength = AFC_HEADER_SIZE + head.length;
  const out = new Uint8Array(thisLength + payload.length);
  const view = new DataView(out.buffer);
  out.set(MAGIC_BYTES, 0);
  setU64(view, 8, out.length, 'length');
  setU64(view, 16, thisLength, 'length');
  setU64(view, 24, input.packetNum, 'packet number');
  setU64(view, 32, input.operation, 'operation');
  out.set(head, AFC_HEADER_SIZE);
  out.set(payload, thisLength);
  return out;
}

export interface AfcDecoderOptions {
  /** Largest accepted packet, header included (default 32 MiB). */
  maxPacketSize: number;
}

export const DEFAULT_AFC_MAX_PACKET_SIZE = 32 * 1024 * 1024;

/** Incremental AFC packet decoder: `push` returns the complete packets and keeps the rest. */
export class AfcDecoder {
  private readonly maxPacketSize: number;
  private readonly buffer = new ChunkBuffer();

  constructor(options: Partial<AfcDecoderOptions> = {}) {
    this.maxPacketSize = options.maxPacketSize ?? DEFAULT_AFC_MAX_PACKET_SIZE;
  }

  /** Bytes held waiting for the rest of a packet. */
  get pending(): number {
    return this.buffer.length;
  }

  push(chunk: Uint8Array): AfcPacket[] {
    this.buffer.append(chunk);
    const out: AfcPacket[] = [];
    while (this.buffer.length >= AFC_HEADER_SIZE) {
      const header = this.buffer.peek(AFC_HEADER_SIZE);
      const view = new DataView(header.buffer, header.byteOffset, AFC_HEADER_SIZE);
      for (let i = 0; i < MAGIC_BYTES.length; i++) {
        if (header[i] !== MAGIC_BYTES[i]) throw decodeError('AFC packet without the CFA6LPAA magic');
      }
      const entire = view.getBigUint64(8, true);
      const thisLen = view.getBigUint64(16, true);
      if (thisLen < BigInt(AFC_HEADER_SIZE)) throw decodeError(`AFC this_length ${thisLen} is below 40`);
      if (entire < thisLen) throw decodeError(`AFC entire_length ${entire} is below this_length ${thisLen}`);
      if (entire > BigInt(this.maxPacketSize)) {
        throw new IbackupError('FRAME_TOO_LARGE', {
          message: `The device sent an AFC packet of ${entire} bytes (limit ${this.maxPacketSize}).`,
        });
      }
      const total = Number(entire);
      if (this.buffer.length < total) break;
      const packetNum = u64(view, 24, 'packet number');
      const operation = u64(view, 32, 'operation');
      const bytes = this.buffer.take(total);
      const split = Number(thisLen);
      out.push({
        packetNum,
        operation,
        headerPayload: bytes.subarray(AFC_HEADER_SIZE, split),
        payload: bytes.subarray(split),
        body: bytes.subarray(AFC_HEADER_SIZE),
      });
    }
    return out;
  }
}

// ---- body builders and readers ----

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function text(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw decodeError(`AFC ${what} is not valid UTF-8`, cause);
  }
}

function u64Bytes(values: number[], what: string): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => setU64(view, i * 8, v, what));
  return out;
}

function readU64s(body: Uint8Array, count: number, what: string): number[] {
  if (body.length < count * 8) throw decodeError(`AFC ${what} needs ${count * 8} bytes, got ${body.length}`);
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  return Array.from({ length: count }, (_, i) => u64(view, i * 8, what));
}

/** A NUL-terminated UTF-8 string list, e.g. a directory listing or the two paths of RenamePath. */
export function encodeAfcStrings(items: readonly string[]): Uint8Array {
  return concatBytes(items.flatMap((s) => [utf8Encoder.encode(s), new Uint8Array(1)]));
}

/** Splits NUL-terminated strings; a missing final NUL is tolerated. */
export function decodeAfcStrings(body: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(0, start);
    if (end < 0) end = body.length;
    out.push(text(body.subarray(start, end), 'string'));
    start = end + 1;
  }
  return out;
}

/** A NUL-terminated path (GetFileInfo, ReadDir, MakeDir, RemovePath). */
export function encodeAfcPath(path: string): Uint8Array {
  return encodeAfcStrings([path]);
}

export function decodeAfcPath(body: Uint8Array): string {
  const [path] = decodeAfcStrings(body);
  if (path === undefined || path.length === 0) throw decodeError('AFC request without a path');
  return path;
}

export function encodeAfcRename(from: string, to: string): Uint8Array {
  return encodeAfcStrings([from, to]);
}

export function decodeAfcRename(body: Uint8Array): { from: string; to: string } {
  const [from, to] = decodeAfcStrings(body);
  if (from === undefined || to === undefined || from.length === 0 || to.length === 0) {
    throw decodeError('AFC rename without two paths');
  }
  return { from, to };
}

/** key\0value\0… (GetFileInfo, GetDeviceInfo replies). */
export function encodeAfcKeyValues(entries: Readonly<Record<string, string>>): Uint8Array {
  return encodeAfcStrings(Object.entries(entries).flat());
}

export function decodeAfcKeyValues(body: Uint8Array): Record<string, string> {
  const items = decodeAfcStrings(body);
  if (items.length % 2 !== 0) throw decodeError('AFC key/value list with an odd number of strings');
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < items.length; i += 2) pairs.push([items[i] ?? '', items[i + 1] ?? '']);
  return Object.fromEntries(pairs);
}

export function encodeAfcFileOpen(mode: number, path: string): Uint8Array {
  return concatBytes([u64Bytes([mode], 'open mode'), encodeAfcPath(path)]);
}

export function decodeAfcFileOpen(body: Uint8Array): { mode: number; path: string } {
  const [mode = 0] = readU64s(body, 1, 'FileOpen');
  return { mode, path: decodeAfcPath(body.subarray(8)) };
}

/** A single u64 (file handle, status code, FileOpenResult, FileClose argument). */
export function encodeAfcU64(value: number): Uint8Array {
  return u64Bytes([value], 'value');
}

export function decodeAfcU64(body: Uint8Array, what = 'value'): number {
  const [v = 0] = readU64s(body, 1, what);
  return v;
}

export function encodeAfcFileRead(handle: number, length: number): Uint8Array {
  return u64Bytes([handle, length], 'FileRead');
}

export function decodeAfcFileRead(body: Uint8Array): { handle: number; length: number } {
  const [handle = 0, length = 0] = readU64s(body, 2, 'FileRead');
  return { handle, length };
}

export function encodeAfcFileLock(handle: number, op: number): Uint8Array {
  return u64Bytes([handle, op], 'FileLock');
}

export function decodeAfcFileLock(body: Uint8Array): { handle: number; op: number } {
  const [handle = 0, op = 0] = readU64s(body, 2, 'FileLock');
  return { handle, op };
}

/** FileWrite: a u64 handle, then the bytes to write (a view into the body). */
export function decodeAfcFileWrite(body: Uint8Array): { handle: number; data: Uint8Array } {
  const [handle = 0] = readU64s(body, 1, 'FileWrite');
  return { handle, data: body.subarray(8) };
}
