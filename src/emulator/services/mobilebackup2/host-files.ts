/**
 * The device's view of the computer's backup folder: every DeviceLink file request the device
 * sends (download, upload, directories, moves, removes, free space), each awaiting the host's
 * status answer. This is how BackupAgent drives a host; the host only obeys.
 */
import {
  DL_EMPTY_PARAMETER,
  decodeDeviceLinkMessage,
  encodeDeviceLinkMessage,
  type DeviceLinkMessage,
} from '../../../protocol/devicelink.js';
import {
  DL_CODE_FILE_DATA,
  DL_STREAM_TERMINATOR,
  encodeDlSuccessBlock,
  uploadFileHeaderRoom,
  writeDlUploadFileHeader,
} from '../../../protocol/dl-file-stream.js';
import { isPlistDict, numberValue, parsePlist, real, type PlistDict, type PlistValue } from '../../../protocol/plist/index.js';
import { encodeMoveFrame } from '../../../protocol/dl-move-frame.js';
import { workWhile } from './idle-work.js';
import type { DlConnection } from '../../../transport/dl-connection.js';

/** A status the host answered with; code 0 is success. */
export class HostStatusError extends Error {
  constructor(
    readonly request: string,
    readonly code: number,
    readonly status: string,
    readonly value: PlistValue | undefined,
  ) {
    super(`${request} failed on the host: ${code} ${status}`);
  }
}

export interface UploadItem {
  /** Device-side name (informational). */
  devicePath: string;
  /** Path relative to the backup root, e.g. `<udid>/Snapshot/ab/ab12…`. */
  backupPath: string;
  size: number;
  /** The bytes, in chunks; a chunk must not change once yielded (it is written without a copy). */
  chunks: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

export interface DirectoryEntry {
  type: 'file' | 'directory' | 'other';
  size: number;
}

/** Receives the files of a streamed download, one after another. */
export interface DownloadSink {
  start(path: string): Promise<void> | void;
  /** A piece of the file; the bytes are only valid during the call. */
  data(path: string, bytes: Uint8Array): Promise<void> | void;
  /** The file ended; `ok` false when the host could not send it. */
  end(path: string, ok: boolean): Promise<void> | void;
}

const UPLOAD_BLOCK = 1024 * 1024;
/** Gathered bytes that are written at once. */
const OUTBOX_BYTES = 1024 * 1024;
/** Gathered pieces that are written at once (well under the system's limit per write). */
const OUTBOX_PARTS = 512;
const SUCCESS_BLOCK = encodeDlSuccessBlock();

/** Size of the buffers small pieces are copied into. */
const ARENA_BYTES = 64 * 1024;
/** File data shorter than this is copied next to its headers rather than sent as a piece of its own. */
const COPY_BELOW = 512;

/**
 * Pieces of an upload stream waiting to be written together. Headers and small data are copied,
 * one after another, into an arena buffer, so that a write carries few parts and no small
 * buffer is allocated per file; larger file data goes out as it is, without a copy. An arena is
 * only ever filled forward: bytes already queued for the socket are never written again.
 */
class Outbox {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private dataBytes = 0;
  private arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
  private used = 0;
  /** Start of the arena bytes not yet in `parts`. */
  private runStart = 0;

  constructor(
    private readonly dl: DlConnection,
    private readonly onBytes: (n: number) => Promise<void> | void,
    /** Work to do while the socket is full (the host is still reading). */
    private readonly whileWaiting: (() => boolean) | undefined,
  ) {}

  get full(): boolean {
    return this.bytes >= OUTBOX_BYTES || this.parts.length >= OUTBOX_PARTS;
  }

  /** The current file's data not yet in a block (a block carries up to UPLOAD_BLOCK bytes). */
  private block: Uint8Array[] = [];
  private blockBytes = 0;

  /**
   * Adds a piece of the current file. Returns a promise only when the outbox had to be written
   * out (then await it before adding more), so a small file costs no promise at all.
   */
  addFileBytes(chunk: Uint8Array): Promise<void> | undefined {
    let wait: Promise<void> | undefined;
    for (let at = 0; at < chunk.length; ) {
      const take = Math.min(chunk.length - at, UPLOAD_BLOCK - this.blockBytes);
      this.block.push(take === chunk.length ? chunk : chunk.subarray(at, at + take));
      this.blockBytes += take;
      at += take;
      if (this.blockBytes === UPLOAD_BLOCK) {
        this.endBlock();
        if (this.full) {
          // Rare (a chunk is at most 1 MiB): the rest of the chunk waits for the write.
          const rest = chunk.subarray(at);
          wait = this.flush().then(() => this.addFileBytes(rest));
          break;
        }
      }
    }
    return wait;
  }

  /** Ends the current file: its last block, then the success block. */
  endFile(): void {
    this.endBlock();
    this.add(SUCCESS_BLOCK);
  }

  private endBlock(): void {
    if (this.blockBytes === 0) return;
    this.addData(this.block, this.blockBytes);
    this.block = [];
    this.blockBytes = 0;
  }

  private closeRun(): void {
    if (this.used === this.runStart) return;
    this.parts.push(this.arena.subarray(this.runStart, this.used));
    this.runStart = this.used;
  }

  /** Room for `n` more bytes in the arena (a fresh arena when it is full). */
  private room(n: number): void {
    if (this.used + n <= this.arena.length) return;
    this.closeRun();
    this.arena = Buffer.allocUnsafeSlow(Math.max(ARENA_BYTES, n));
    this.used = 0;
    this.runStart = 0;
  }

  /** Writes a file's upload header straight into the arena. */
  addUploadHeader(devicePath: string, backupPath: string): void {
    this.room(uploadFileHeaderRoom(devicePath, backupPath));
    const end = writeDlUploadFileHeader(this.arena, this.used, devicePath, backupPath);
    this.bytes += end - this.used;
    this.used = end;
  }

  /** Copies a small piece into the arena. */
  add(part: Uint8Array): void {
    this.room(part.length);
    this.arena.set(part, this.used);
    this.used += part.length;
    this.bytes += part.length;
  }

  /** A data block: its header and the file bytes it carries. */
  addData(data: Uint8Array[], length: number): void {
    this.room(5);
    this.arena.writeUInt32BE(length + 1, this.used);
    this.arena[this.used + 4] = DL_CODE_FILE_DATA;
    this.used += 5;
    this.bytes += 5;
    for (const d of data) {
      if (d.length < COPY_BELOW) this.add(d);
      else {
        this.closeRun();
        this.parts.push(d);
        this.bytes += d.length;
      }
    }
    this.dataBytes += length;
  }

  async flush(): Promise<void> {
    this.closeRun();
    if (this.parts.length === 0) return;
    const parts = this.parts;
    const data = this.dataBytes;
    this.parts = [];
    this.bytes = 0;
    this.dataBytes = 0;
    const draining = this.dl.writeRaw(...parts);
    if (draining) await workWhile(draining, this.whileWaiting);
    if (data > 0) await this.onBytes(data);
  }
}

export class HostFiles {
  /** Overall progress 0–100 reported with each request. */
  progress = 0;
  /** Called after every chunk written (bytes) — for throttles and fault injection. */
  onBytes: (n: number) => Promise<void> | void = () => undefined;
  /**
   * A slice of work the device does while it waits for the host during an upload (the socket
   * is full, or the host has yet to answer), so its own work overlaps the host's; true while
   * some is left. Slices follow one another until the wait is over.
   */
  whileWaiting: (() => boolean) | undefined;

  constructor(private readonly dl: DlConnection) {}

  private async send(msg: DeviceLinkMessage): Promise<void> {
    await this.dl.send(encodeDeviceLinkMessage(msg));
  }

  private async status(request: string, allowMulti = false): Promise<{ code: number; value: PlistValue | undefined }> {
    const reply = decodeDeviceLinkMessage(await this.dl.receive());
    if (reply.name !== 'DLMessageStatusResponse') throw new HostStatusError(request, -1, `unexpected ${reply.name}`, undefined);
    if (reply.code !== 0 && !(allowMulti && reply.code === -13)) {
      throw new HostStatusError(request, reply.code, reply.status ?? '', reply.value);
    }
    return { code: reply.code, value: reply.value };
  }

  /** Asks for files; returns what came (missing files are absent from the map). */
  async downloadFiles(paths: string[]): Promise<Map<string, Uint8Array>> {
    await this.send({ name: 'DLMessageDownloadFiles', files: paths, options: {}, progress: this.progress });
    const out = new Map<string, Uint8Array>();
    let current: string | undefined;
    let parts: Uint8Array[] = [];
    await this.dl.receiveStream('download', (e) => {
      if (e.type === 'file-start') {
        current = e.backupPath;
        parts = [];
      } else if (e.type === 'data') parts.push(Uint8Array.from(e.bytes));
      else if (e.type === 'file-end') {
        if (e.ok && current !== undefined) out.set(current, Buffer.concat(parts));
        current = undefined;
        parts = [];
      }
    });
    await this.status('DLMessageDownloadFiles', true);
    return out;
  }

  /**
   * Asks for files and hands their bytes to `sink` as they arrive (awaited, so nothing piles up
   * in memory). Returns the paths that came complete.
   */
  async downloadFilesTo(paths: string[], sink: DownloadSink): Promise<Set<string>> {
    await this.send({ name: 'DLMessageDownloadFiles', files: paths, options: {}, progress: this.progress });
    const done = new Set<string>();
    let current: string | undefined;
    await this.dl.receiveStream('download', async (e) => {
      if (e.type === 'file-start') {
        current = e.backupPath;
        await sink.start(current);
      } else if (e.type === 'data') {
        if (current !== undefined) await sink.data(current, e.bytes);
      } else if (e.type === 'file-end') {
        if (current !== undefined) {
          await sink.end(current, e.ok);
          if (e.ok) done.add(current);
        }
        current = undefined;
      }
    });
    await this.status('DLMessageDownloadFiles', true);
    return done;
  }

  /**
   * Sends files to the host in one upload stream. Small pieces (headers, small files) are
   * gathered and written together; file data is never copied. `onBytes` hears of the data after
   * each write.
   */
  async uploadFiles(items: UploadItem[], totalBytes: number): Promise<void> {
    await this.send({ name: 'DLMessageUploadFiles', options: {}, progress: this.progress, totalBytes });
    const out = new Outbox(this.dl, this.onBytes, this.whileWaiting);
    for (const item of items) {
      out.addUploadHeader(item.devicePath, item.backupPath);
      const chunks = item.chunks();
      // Bytes made in memory are taken without a promise per chunk; a socket wait is awaited.
      if (Symbol.iterator in chunks) {
        for (const chunk of chunks) {
          const wait = out.addFileBytes(chunk);
          if (wait) await wait;
        }
      } else {
        for await (const chunk of chunks) {
          const wait = out.addFileBytes(chunk);
          if (wait) await wait;
        }
      }
      out.endFile();
      if (out.full) await out.flush();
    }
    out.add(DL_STREAM_TERMINATOR);
    await out.flush();
    await workWhile(this.status('DLMessageUploadFiles'), this.whileWaiting);
  }

  async createDirectory(path: string): Promise<void> {
    await this.send({ name: 'DLMessageCreateDirectory', path, options: {}, progress: this.progress });
    await this.status('DLMessageCreateDirectory');
  }

  async moveItems(moves: Array<{ from: string; to: string }>): Promise<void> {
    if (moves.length === 0) return;
    await this.send({ name: 'DLMessageMoveItems', moves, options: {}, progress: this.progress });
    await this.status('DLMessageMoveItems');
  }

  /**
   * Moves in batches, one request each; the next request is encoded (directly when the plists
   * are binary: these are the device's biggest messages) while the host works on the one before
   * (a big backup sends hundreds). `afterEach` runs after each answer.
   */
  async moveBatches(batches: Iterable<Array<{ from: string; to: string }>>, afterEach: () => Promise<void>): Promise<void> {
    const encode = (moves: Array<{ from: string; to: string }>): Uint8Array =>
      this.dl.format === 'binary'
        ? encodeMoveFrame('DLMessageMoveItems', moves, this.progress)
        : this.dl.frame(encodeDeviceLinkMessage({ name: 'DLMessageMoveItems', moves, options: {}, progress: this.progress }));
    const it = batches[Symbol.iterator]();
    const take = (): Uint8Array | undefined => {
      for (let r = it.next(); !r.done; r = it.next()) if (r.value.length > 0) return encode(r.value);
      return undefined;
    };
    for (let next = take(); next !== undefined; ) {
      await this.dl.sendFrame(next);
      const answer = this.status('DLMessageMoveItems');
      next = take();
      await answer;
      await afterEach();
    }
  }

  async removeItems(paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    await this.send({ name: 'DLMessageRemoveItems', paths, options: {}, progress: this.progress });
    await this.status('DLMessageRemoveItems');
  }

  async contentsOfDirectory(path: string): Promise<Map<string, DirectoryEntry>> {
    await this.send({ name: 'DLContentsOfDirectory', path });
    const { value } = await this.status('DLContentsOfDirectory');
    const out = new Map<string, DirectoryEntry>();
    if (!isPlistDict(value)) return out;
    for (const [name, v] of Object.entries(value)) {
      if (!isPlistDict(v)) continue;
      const t = v.DLFileType;
      out.set(name, {
        type: t === 'DLFileTypeDirectory' ? 'directory' : t === 'DLFileTypeRegular' ? 'file' : 'other',
        size: numberValue(v.DLFileSize) ?? 0,
      });
    }
    return out;
  }

  async freeDiskSpace(): Promise<number> {
    await this.send({ name: 'DLMessageGetFreeDiskSpace' });
    const { value } = await this.status('DLMessageGetFreeDiskSpace');
    return numberValue(value) ?? 0;
  }

  /** The final answer of a request; ends the exchange. */
  async respond(errorCode: number, description = '', content?: string): Promise<void> {
    const message = { MessageName: 'Response', ErrorCode: errorCode, ErrorDescription: description, ...(content === undefined ? {} : { Content: content }) };
    await this.send({ name: 'DLMessageProcessMessage', message });
  }
}

export { DL_EMPTY_PARAMETER, real };

/** A plist file the host sent back, as a dictionary; undefined when missing or not a dictionary. */
export function hostPlistDict(bytes: Uint8Array | undefined): PlistDict | undefined {
  if (!bytes) return undefined;
  try {
    const v = parsePlist(bytes);
    return isPlistDict(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
