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
import { DL_STREAM_TERMINATOR } from '../../../protocol/dl-file-stream.js';
import {
  isPlistDict,
  numberValue,
  parsePlist,
  real,
  type PlistDict,
  type PlistValue,
} from '../../../protocol/plist/index.js';
import { encodeMoveFrame } from '../../../protocol/dl-move-frame.js';
import { workWhile } from './idle-work.js';
import { Outbox } from './upload-outbox.js';
import type { DlConnection } from '../../../transport/dl-connection.js';
import { DL_STATUS } from '../../../protocol/devicelink-status.js';

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
  /**
   * Set when the device cannot read the file to its end: after the chunks (what it could read),
   * the file ends with an error block carrying this reason instead of the success block.
   */
  failure?: string;
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
    if (reply.name !== 'DLMessageStatusResponse')
      throw new HostStatusError(request, -1, `unexpected ${reply.name}`, undefined);
    if (reply.code !== 0 && !(allowMulti && reply.code === DL_STATUS.MULTI_STATUS)) {
      throw new HostStatusError(request, reply.code, reply.status ?? '', reply.value);
    }
    return { code: reply.code, value: reply.value };
  }

  /**
   * Asks for files; returns what came (missing files are absent from the map). A file arrives in
   * many small frames (32 KiB from libimobiledevice, pymobiledevice3 and Apple's own host: a
   * Manifest.db of hundreds of MB on iOS 26, pymobiledevice3 issue 1857): each piece is copied
   * once, as it arrives, into slabs of 1 MiB, and the slabs become the file's bytes when it ends.
   * The connection pauses the socket past its bound, so unread frames never pile up.
   */
  async downloadFiles(paths: string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    let current: SlabCollector | undefined;
    await this.downloadFilesTo(paths, {
      start: () => {
        current = new SlabCollector();
      },
      data: (_path, bytes) => current?.add(bytes),
      end: (path, ok) => {
        if (ok && current) out.set(path, current.take());
        current = undefined;
      },
    });
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
      out.endFile(item.failure);
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
  async moveBatches(
    batches: Iterable<Array<{ from: string; to: string }>>,
    afterEach: () => Promise<void>,
  ): Promise<void> {
    const encode = (moves: Array<{ from: string; to: string }>): Uint8Array =>
      this.dl.format === 'binary'
        ? encodeMoveFrame('DLMessageMoveItems', moves, this.progress)
        : this.dl.frame(
            encodeDeviceLinkMessage({ name: 'DLMessageMoveItems', moves, options: {}, progress: this.progress }),
          );
    const it = batches[Symbol.iterator]();
    const take = (): Uint8Array | undefined => {
      for (let r = it.next(); !r.done; r = it.next()) if (r.value.length > 0) return encode(r.value);
      return undefined;
    };
    for (let next = take(); next !== undefined;) {
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
    const message = {
      MessageName: 'Response',
      ErrorCode: errorCode,
      ErrorDescription: description,
      ...(content === undefined ? {} : { Content: content }),
    };
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

/** Bytes of one downloaded file, copied into 1 MiB slabs as they arrive. */
class SlabCollector {
  private static readonly SLAB = 1024 * 1024;
  private readonly full: Uint8Array[] = [];
  private slab: Uint8Array | undefined;
  private used = 0;
  private total = 0;

  add(bytes: Uint8Array): void {
    this.total += bytes.length;
    for (let at = 0; at < bytes.length;) {
      if (!this.slab || this.used === this.slab.length) {
        if (this.slab) this.full.push(this.slab);
        this.slab = new Uint8Array(Math.max(SlabCollector.SLAB, Math.min(bytes.length - at, 64 * SlabCollector.SLAB)));
        this.used = 0;
      }
      const n = Math.min(bytes.length - at, this.slab.length - this.used);
      this.slab.set(bytes.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
    }
  }

  /** The whole file (the slabs are let go). */
  take(): Uint8Array {
    const last = this.slab?.subarray(0, this.used);
    if (this.full.length === 0) return last ?? new Uint8Array(0);
    const parts = last ? [...this.full, last] : this.full;
    return Buffer.concat(parts, this.total);
  }
}
