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
  DL_STREAM_TERMINATOR,
  encodeDlDataBlockHeader,
  encodeDlSuccessBlock,
  encodeDlUploadFileHeader,
} from '../../../protocol/dl-file-stream.js';
import { isPlistDict, numberValue, real, type PlistValue } from '../../../protocol/plist/index.js';
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
  /** The bytes, in chunks. */
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

export class HostFiles {
  /** Overall progress 0–100 reported with each request. */
  progress = 0;
  /** Called after every chunk written (bytes) — for throttles and fault injection. */
  onBytes: (n: number) => Promise<void> | void = () => undefined;

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

  /** Sends files to the host in one upload stream. */
  async uploadFiles(items: UploadItem[], totalBytes: number): Promise<void> {
    await this.send({ name: 'DLMessageUploadFiles', options: {}, progress: this.progress, totalBytes });
    for (const item of items) {
      await this.dl.writeRaw(encodeDlUploadFileHeader(item.devicePath, item.backupPath));
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = async (): Promise<void> => {
        if (pendingBytes === 0) return;
        const data = pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        for (let at = 0; at < data.length; at += UPLOAD_BLOCK) {
          const part = data.subarray(at, at + UPLOAD_BLOCK);
          await this.dl.writeRaw(encodeDlDataBlockHeader(part.length));
          await this.dl.writeRaw(part);
        }
        await this.onBytes(data.length);
      };
      for await (const chunk of item.chunks()) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= UPLOAD_BLOCK) await flush();
      }
      await flush();
      await this.dl.writeRaw(encodeDlSuccessBlock());
    }
    await this.dl.writeRaw(DL_STREAM_TERMINATOR);
    await this.status('DLMessageUploadFiles');
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
