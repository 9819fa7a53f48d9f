/**
 * The host's answer to each file request the device sends while it runs a mobilebackup2 request:
 * one exhaustive dispatch table (`table`), each entry a named step below. Files are read and
 * written only through the BackupTarget; a local failure is told to the device with the status of
 * target-failure.ts.
 */
import {
  DL_EMPTY_PARAMETER,
  encodeDeviceLinkMessage,
  type DlDeviceRequest,
  type DlRequestHandlers,
} from '../../protocol/devicelink.js';
import { DL_MULTI_STATUS_TEXT, DL_STATUS, DL_UNSUPPORTED_TEXT } from '../../protocol/devicelink-status.js';
import {
  DL_FILE_CHUNK_SIZE,
  DL_STREAM_TERMINATOR,
  encodeDlDataBlockHeader,
  encodeDlDownloadFileHeader,
  encodeDlErrorBlock,
  encodeDlSuccessBlock,
  type DlFileStreamEvent,
} from '../../protocol/dl-file-stream.js';
import type { PlistDict, PlistValue } from '../../protocol/plist/index.js';
import type { DlConnection } from '../../transport/dl-connection.js';
import { parallel } from '../../parallel.js';
import { ITEMS_AT_ONCE, independentPaths } from './item-order.js';
import type { BackupTarget, Mb2Observer, TargetEntry } from './mobilebackup2-target.js';
import { targetFailure, type DlFailure } from './target-failure.js';
import { ReadAhead } from './read-ahead.js';
import { UploadPipeline } from './upload-pipeline.js';

export class Mb2Requests {
  constructor(
    private readonly dl: DlConnection,
    private readonly target: BackupTarget,
    private readonly obs: Mb2Observer,
    private readonly signal?: AbortSignal,
  ) {}

  /** One handler per request the device may send. */
  table(): DlRequestHandlers<Promise<void>> {
    return {
      DLMessageDownloadFiles: (m) => this.downloadFiles(m.files),
      DLMessageUploadFiles: () => this.uploadFiles(),
      DLMessageGetFreeDiskSpace: () => this.freeDiskSpace(),
      DLContentsOfDirectory: (m) => this.contentsOfDirectory(m.path),
      DLMessageCreateDirectory: (m) => this.createDirectory(m.path),
      DLMessageMoveItems: (m) => this.moveItems(m),
      DLMessageMoveFiles: (m) => this.moveItems(m),
      DLMessageRemoveItems: (m) => this.removeItems(m),
      DLMessageRemoveFiles: (m) => this.removeItems(m),
      DLMessageCopyItem: (m) => this.copyItem(m.from, m.to),
      DLMessagePurgeDiskSpace: () => this.status(DL_STATUS.GENERIC, DL_UNSUPPORTED_TEXT, {}),
    } satisfies DlRequestHandlers<Promise<void>>;
  }

  private status(code: number, text: string, value: PlistValue): Promise<void> {
    const status = text === '' ? DL_EMPTY_PARAMETER : text;
    return this.dl.send(encodeDeviceLinkMessage({ name: 'DLMessageStatusResponse', code, status, value }));
  }

  /** Success, or the failure given, with an empty dictionary as the value. */
  private reply(failure: DlFailure | undefined): Promise<void> {
    return failure ? this.status(failure.code, failure.text, {}) : this.status(DL_STATUS.OK, '', {});
  }

  /** A local failure on `path`: told to the observer, and the status to reply with. */
  private fail(err: unknown, path: string): DlFailure {
    const failure = targetFailure(err);
    if (failure.code === DL_STATUS.ENOSPC) this.obs.diskFull?.(path);
    else this.obs.problem?.(`${path}: ${failure.text}`);
    return failure;
  }

  /** Streams each file to the device; the ones that failed are listed in a multi-status reply. */
  private async downloadFiles(files: readonly string[]): Promise<void> {
    const errors: PlistDict = {};
    const reading = new ReadAhead(this.target, files);
    try {
      for (const [i, path] of files.entries()) {
        const failure = await this.sendFile(path, reading.chunks(i));
        if (failure) errors[path] = { DLFileErrorString: failure.text, DLFileErrorCode: failure.code };
      }
    } finally {
      await reading.close();
    }
    await this.dl.writeRaw(DL_STREAM_TERMINATOR);
    await (Object.keys(errors).length > 0
      ? this.status(DL_STATUS.MULTI_STATUS, DL_MULTI_STATUS_TEXT, errors)
      : this.status(DL_STATUS.OK, '', {}));
  }

  /**
   * One file: its header, its bytes as data blocks of DL_FILE_CHUNK_SIZE at most, then its
   * success block, or an error block after the blocks read before a failure. A chunk's blocks
   * are held until the next chunk (or the end) comes, so that a small file goes out in one
   * write, header and success block included: each write is a TLS record of its own, and the
   * per-block writes cost more than the bytes.
   */
  private async sendFile(path: string, chunks: AsyncIterable<Uint8Array>): Promise<DlFailure | undefined> {
    let held: Uint8Array[] = [encodeDlDownloadFileHeader(path)];
    try {
      for await (const chunk of chunks) {
        if (held.length > 1) {
          await this.dl.writeRaw(...held);
          held = [];
        }
        for (let at = 0; at < chunk.length; at += DL_FILE_CHUNK_SIZE) {
          const part = chunk.subarray(at, at + DL_FILE_CHUNK_SIZE);
          held.push(encodeDlDataBlockHeader(part.length), part);
        }
      }
    } catch (err) {
      const failure = targetFailure(err);
      await this.dl.writeRaw(...held, encodeDlErrorBlock(failure.text, 'local'));
      return failure;
    }
    await this.dl.writeRaw(...held, encodeDlSuccessBlock());
    return undefined;
  }

  /** Receives the device's file stream, writing files while it goes on; replies once all are on disk. */
  private async uploadFiles(): Promise<void> {
    const files = new UploadPipeline(this.target, {
      fail: (err, path) => this.fail(err, path),
      received: (path, size) => this.obs.fileReceived?.(path, size),
      unreadable: (path, devicePath, reason) => this.obs.unreadable?.(path, devicePath, reason),
    });
    // A cancel stops reading at once, even while the device is stalled in the middle of a file.
    const receiving = this.dl.receiveStream(
      'upload',
      (e) => this.uploadEvent(files, e),
      this.signal ? { signal: this.signal } : {},
    );
    try {
      await receiving;
    } catch (err) {
      await files.abort();
      throw err;
    }
    await files.finish();
    await this.reply(files.status);
  }

  private async uploadEvent(files: UploadPipeline, e: DlFileStreamEvent): Promise<void> {
    switch (e.type) {
      case 'file-start':
        files.fileStart(e.backupPath, e.devicePath ?? '');
        break;
      case 'data':
        this.obs.bytes?.(e.bytes.length);
        files.data(e.bytes);
        await files.room();
        break;
      case 'file-end':
        // An error block that ends a file the device began is its word that it could not
        // read the rest: what arrived is kept (idevicebackup2.c keeps it; pymobiledevice3
        // keeps it and warns: its issues 755 and 507, iOS 17 FileProvider databases).
        // Only a stream cut inside a file drops it.
        await (e.ok
          ? files.fileEnd('ok')
          : e.incomplete === true
            ? files.fileEnd('dropped')
            : files.fileEnd('unreadable', e.message ?? ''));
        break;
      case 'end':
        break;
    }
  }

  private async freeDiskSpace(): Promise<void> {
    try {
      await this.status(DL_STATUS.OK, '', await this.target.freeSpace());
    } catch (err) {
      await this.status(DL_STATUS.GENERIC, targetFailure(err).text, 0);
    }
  }

  private async contentsOfDirectory(path: string): Promise<void> {
    const out: PlistDict = {};
    try {
      for (const e of await this.target.list(path)) out[e.name] = directoryEntry(e);
      await this.status(DL_STATUS.OK, '', out);
    } catch (err) {
      await this.reply(this.fail(err, path));
    }
  }

  private async createDirectory(path: string): Promise<void> {
    try {
      await this.target.mkdirp(path);
      await this.status(DL_STATUS.OK, '', DL_EMPTY_PARAMETER);
    } catch (err) {
      const f = this.fail(err, path);
      await this.status(f.code, f.text, DL_EMPTY_PARAMETER);
    }
  }

  private moveItems(m: DlDeviceRequest<'DLMessageMoveItems' | 'DLMessageMoveFiles'>): Promise<void> {
    return this.each(
      m.moves,
      (x) => [x.from, x.to],
      async (x) => {
        await this.target.move(x.from, x.to);
        this.obs.moved?.(x.from, x.to);
      },
    );
  }

  private removeItems(m: DlDeviceRequest<'DLMessageRemoveItems' | 'DLMessageRemoveFiles'>): Promise<void> {
    return this.each(
      m.paths,
      (p) => [p],
      (p) => this.target.remove(p),
    );
  }

  /**
   * Does `op` on every item and replies with the last failure, if any. Items that touch no common
   * path (`pathsOf`: the first is the one a failure names) cannot depend on each other's order:
   * several are done at a time.
   */
  private async each<T>(
    items: readonly T[],
    pathsOf: (item: T) => string[],
    op: (item: T) => Promise<void>,
  ): Promise<void> {
    let last: DlFailure | undefined;
    const one = async (item: T): Promise<void> => {
      try {
        await op(item);
      } catch (err) {
        last = this.fail(err, pathsOf(item)[0] as string);
      }
    };
    if (independentPaths(items.flatMap(pathsOf))) await parallel(items, ITEMS_AT_ONCE, one);
    else for (const item of items) await one(item);
    await this.reply(last);
  }

  private async copyItem(from: string, to: string): Promise<void> {
    try {
      // A missing source is not an error (idevicebackup2.c answers 0 then); folders are
      // copied whole, inside the backup folder only (the target checks both paths).
      await this.target.copy(from, to);
      await this.status(DL_STATUS.OK, '', {});
    } catch (err) {
      await this.reply(this.fail(err, from));
    }
  }
}

/** An entry as DLContentsOfDirectory lists it. */
function directoryEntry(e: TargetEntry): PlistDict {
  return {
    DLFileType:
      e.type === 'directory' ? 'DLFileTypeDirectory' : e.type === 'file' ? 'DLFileTypeRegular' : 'DLFileTypeUnknown',
    DLFileSize: e.size,
    DLFileModificationDate: e.mtime,
  };
}
