/**
 * mobilebackup2, host side: the DeviceLink handshake, a request (Backup, Restore, ChangePassword…),
 * and a correct reply to every file request the device sends, through one exhaustive dispatch
 * table. Files are read and written only through the BackupTarget (the backup store), which
 * checks every path.
 */
import {
  DL_EMPTY_PARAMETER,
  decodeDeviceLinkMessage,
  encodeDeviceLinkMessage,
  isDlDeviceRequest,
  type DeviceLinkMessage,
  type DlRequestHandlers,
} from '../../protocol/devicelink.js';
import { dlHello } from '../../protocol/devicelink-hello.js';
import {
  DL_STREAM_TERMINATOR,
  encodeDlDataBlockHeader,
  encodeDlDownloadFileHeader,
  encodeDlErrorBlock,
  encodeDlSuccessBlock,
} from '../../protocol/dl-file-stream.js';
import { numberValue, type PlistDict, type PlistValue } from '../../protocol/plist/index.js';
import { IbackupError, isIbackupError } from '../../errors.js';
import { DlConnection } from '../../transport/dl-connection.js';
import type { Link } from '../../transport/link.js';
import { UploadPipeline } from './upload-pipeline.js';
import { ITEMS_AT_ONCE, inParallel, independentPaths } from './item-order.js';

export const MOBILEBACKUP2_SERVICE = 'com.apple.mobilebackup2';

/** A file being written for the device. */
export interface TargetFile {
  write(chunk: Uint8Array): Promise<void>;
  /** Bytes written to the file and kept in memory, not yet on disk (optional: none). */
  readonly bufferedBytes?: number;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TargetEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  mtime: Date;
}

/** Where the device's requests land: the backup store (paths are checked there). */
export interface BackupTarget {
  createFile(path: string): Promise<TargetFile>;
  /** The file's bytes in chunks (throws an errno error when missing). */
  readFile(path: string): AsyncIterable<Uint8Array>;
  mkdirp(path: string): Promise<void>;
  move(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  copy(from: string, to: string): Promise<void>;
  list(path: string): Promise<TargetEntry[]>;
  freeSpace(): Promise<number>;
  /** DeviceLink status code for an error (−6 ENOENT, −15 ENOSPC…). */
  errorCode(err: unknown): number;
  errorText(err: unknown): string;
}

export interface Mb2Observer {
  /** The device's overall progress, 0–100. */
  progress?(percent: number): void;
  /** The device's first message after the request (it may be silent for minutes before it). */
  deviceActive?(): void;
  /** A file from the device was written completely. */
  fileReceived?(path: string, bytes: number): void;
  /** Bytes of file data received (as they arrive). */
  bytes?(n: number): void;
  /** A write failed for lack of space. */
  diskFull?(path: string): void;
  /** A request named an unsafe path or failed locally. */
  problem?(message: string): void;
  /**
   * The device ended a file's upload with an error block: it could not read the file. What it
   * sent is kept (libimobiledevice and pymobiledevice3 keep it too).
   */
  unreadable?(path: string, devicePath: string, reason: string): void;
  /** The device moved an item (after the move succeeded). */
  moved?(from: string, to: string): void;
  /** A message the host does not answer (DLMessagePing, an unknown message): ignored. */
  ignored?(name: string): void;
}

export interface Mb2Options {
  /**
   * Silence allowed between device messages once the request is sent (default 60 min). A real
   * phone says nothing while its owner types the passcode and while it prepares its snapshot
   * (minutes on a large phone: libimobiledevice issues 1413, 1705, 1707); libimobiledevice waits
   * without limit. A dead USB link is noticed at once by the socket closing.
   */
  waitMs?: number;
  signal?: AbortSignal;
}

/** Default bound on the device's silence after a request. */
export const DEFAULT_DEVICE_WAIT_MS = 60 * 60_000;
/** Silence allowed during the version exchange and Hello (the device answers at once). */
const HANDSHAKE_TIMEOUT_MS = 60_000;

const CHUNK = 32 * 1024;
const ENOSPC_CODE = -15;

export class MobileBackup2Client {
  private readonly dl: DlConnection;
  /** Silence allowed before the next device message. */
  private silenceMs: number;

  constructor(link: Link, opts: { handshakeTimeoutMs?: number } = {}) {
    this.silenceMs = opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.dl = new DlConnection(link, { format: 'binary', timeoutMs: this.silenceMs });
  }

  private async next(signal?: AbortSignal): Promise<DeviceLinkMessage> {
    try {
      return decodeDeviceLinkMessage(
        await this.dl.receive({ timeoutMs: this.silenceMs, ...(signal ? { signal } : {}) }),
      );
    } catch (err) {
      if (isIbackupError(err) && err.code === 'TIMEOUT') throw silenceError(this.silenceMs, err);
      throw err;
    }
  }

  private send(msg: DeviceLinkMessage): Promise<void> {
    return this.dl.send(encodeDeviceLinkMessage(msg));
  }

  /** Version exchange and Hello; returns the protocol version agreed. */
  async handshake(signal?: AbortSignal): Promise<number> {
    const offer = await this.next(signal);
    if (offer.name !== 'DLMessageVersionExchange' || offer.kind !== 'offer')
      throw unexpected('a version exchange', offer);
    if (offer.major > 400) {
      throw new IbackupError('DEVICE_ERROR', {
        message: `The iPhone speaks a newer backup protocol (${offer.major}).`,
        remedy: 'Update ibackup.',
      });
    }
    await this.send({ name: 'DLMessageVersionExchange', kind: 'reply', status: 'DLVersionsOk', version: 400 });
    const ready = await this.next(signal);
    if (ready.name !== 'DLMessageDeviceReady') throw unexpected('DeviceReady', ready);
    await this.send(dlHello());
    const reply = await this.next(signal);
    if (reply.name !== 'DLMessageProcessMessage') throw unexpected('the Hello answer', reply);
    const code = numberValue(reply.message.ErrorCode) ?? -1;
    if (code !== 0) {
      throw new IbackupError('DEVICE_ERROR', {
        message: 'The iPhone and ibackup have no backup protocol version in common.',
        remedy: 'Update ibackup and the iPhone.',
      });
    }
    return numberValue(reply.message.ProtocolVersion) ?? 2.0;
  }

  /**
   * Sends a request and serves the device's file requests until its final Response, which is
   * returned. The target receives every file operation.
   */
  async run(
    request: PlistDict,
    target: BackupTarget,
    observer: Mb2Observer = {},
    opts: Mb2Options = {},
  ): Promise<PlistDict> {
    await this.send({ name: 'DLMessageProcessMessage', message: request });
    this.silenceMs = opts.waitMs ?? DEFAULT_DEVICE_WAIT_MS;
    const handlers = this.handlers(target, observer, opts.signal);
    let active = false;
    for (;;) {
      const msg = await this.next(opts.signal);
      if (!active) {
        active = true;
        observer.deviceActive?.();
      }
      if (msg.name === 'DLMessageProcessMessage') return msg.message;
      if (msg.name === 'DLMessageDisconnect') {
        throw new IbackupError('CONNECTION_CLOSED', {
          message: `The iPhone ended the backup session${msg.reason && msg.reason !== DL_EMPTY_PARAMETER ? `: ${msg.reason}` : ''}.`,
        });
      }
      if (!isDlDeviceRequest(msg)) {
        // A ping or a message this host does not know: ignored and not answered, as
        // libimobiledevice does (idevicebackup2.c, master fa0f791, the message loop's last branch).
        observer.ignored?.(msg.name === 'unknown' ? msg.messageName : msg.name);
        continue;
      }
      const p = 'progress' in msg ? msg.progress : undefined;
      if (typeof p === 'number' && p > 0) observer.progress?.(p);
      const handler = handlers[msg.name] as (m: typeof msg) => Promise<void>;
      await handler(msg);
    }
  }

  /** Tells the device we are done and closes the connection. */
  async disconnect(): Promise<void> {
    await this.send({ name: 'DLMessageDisconnect', reason: DL_EMPTY_PARAMETER }).catch(() => undefined);
    this.dl.close();
  }

  close(): void {
    this.dl.close();
  }

  private status(code: number, text: string, value: PlistValue): Promise<void> {
    return this.send({ name: 'DLMessageStatusResponse', code, status: text === '' ? DL_EMPTY_PARAMETER : text, value });
  }

  private handlers(target: BackupTarget, obs: Mb2Observer, signal?: AbortSignal): DlRequestHandlers<Promise<void>> {
    const fail = (err: unknown, path: string): { code: number; text: string } => {
      const code = target.errorCode(err);
      if (code === ENOSPC_CODE) obs.diskFull?.(path);
      else obs.problem?.(`${path}: ${target.errorText(err)}`);
      return { code, text: target.errorText(err) };
    };
    const each = async (
      items: string[] | Array<{ from: string; to: string }>,
      op: (x: never) => Promise<void>,
    ): Promise<void> => {
      let last: { code: number; text: string } | undefined;
      const one = async (it: string | { from: string; to: string }): Promise<void> => {
        try {
          await op(it as never);
        } catch (err) {
          last = fail(err, typeof it === 'string' ? it : it.from);
        }
      };
      // Items that touch no common path cannot depend on each other's order: several at a time.
      const paths = items.flatMap((it) => (typeof it === 'string' ? [it] : [it.from, it.to]));
      if (independentPaths(paths)) await inParallel(items, ITEMS_AT_ONCE, one);
      else for (const it of items) await one(it);
      await (last ? this.status(last.code, last.text, {}) : this.status(0, '', {}));
    };
    const move = async (x: { from: string; to: string }): Promise<void> => {
      await target.move(x.from, x.to);
      obs.moved?.(x.from, x.to);
    };
    return {
      DLMessageDownloadFiles: async (m) => {
        const errors: PlistDict = {};
        for (const path of m.files) {
          await this.dl.writeRaw(encodeDlDownloadFileHeader(path));
          try {
            for await (const chunk of target.readFile(path)) {
              for (let at = 0; at < chunk.length; at += CHUNK) {
                const part = chunk.subarray(at, at + CHUNK);
                await this.dl.writeRaw(encodeDlDataBlockHeader(part.length));
                await this.dl.writeRaw(part);
              }
            }
            await this.dl.writeRaw(encodeDlSuccessBlock());
          } catch (err) {
            const text = target.errorText(err);
            await this.dl.writeRaw(encodeDlErrorBlock(text, 'local'));
            errors[path] = { DLFileErrorString: text, DLFileErrorCode: target.errorCode(err) };
          }
        }
        await this.dl.writeRaw(DL_STREAM_TERMINATOR);
        await (Object.keys(errors).length > 0 ? this.status(-13, 'Multi status', errors) : this.status(0, '', {}));
      },
      DLMessageUploadFiles: async () => {
        const files = new UploadPipeline(target, {
          fail,
          received: (path, size) => obs.fileReceived?.(path, size),
          unreadable: (path, devicePath, reason) => obs.unreadable?.(path, devicePath, reason),
        });
        // A cancel stops reading at once, even while the device is stalled in the middle of a file.
        const receiving = this.dl.receiveStream(
          'upload',
          async (e) => {
            switch (e.type) {
              case 'file-start':
                files.fileStart(e.backupPath, e.devicePath ?? '');
                break;
              case 'data':
                obs.bytes?.(e.bytes.length);
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
          },
          signal ? { signal } : {},
        );
        try {
          await receiving;
        } catch (err) {
          await files.abort();
          throw err;
        }
        await files.finish();
        const failure = files.status;
        await (failure ? this.status(failure.code, failure.text, {}) : this.status(0, '', {}));
      },
      DLMessageGetFreeDiskSpace: async () => {
        try {
          await this.status(0, '', await target.freeSpace());
        } catch (err) {
          await this.status(-1, target.errorText(err), 0);
        }
      },
      DLContentsOfDirectory: async (m) => {
        const out: PlistDict = {};
        try {
          for (const e of await target.list(m.path)) {
            out[e.name] = {
              DLFileType:
                e.type === 'directory'
                  ? 'DLFileTypeDirectory'
                  : e.type === 'file'
                    ? 'DLFileTypeRegular'
                    : 'DLFileTypeUnknown',
              DLFileSize: e.size,
              DLFileModificationDate: e.mtime,
            };
          }
          await this.status(0, '', out);
        } catch (err) {
          const f = fail(err, m.path);
          await this.status(f.code, f.text, {});
        }
      },
      DLMessageCreateDirectory: async (m) => {
        try {
          await target.mkdirp(m.path);
          await this.status(0, '', DL_EMPTY_PARAMETER);
        } catch (err) {
          const f = fail(err, m.path);
          await this.status(f.code, f.text, DL_EMPTY_PARAMETER);
        }
      },
      DLMessageMoveItems: (m) => each(m.moves, (x: { from: string; to: string }) => move(x)),
      DLMessageMoveFiles: (m) => each(m.moves, (x: { from: string; to: string }) => move(x)),
      DLMessageRemoveItems: (m) => each(m.paths, (p: string) => target.remove(p)),
      DLMessageRemoveFiles: (m) => each(m.paths, (p: string) => target.remove(p)),
      DLMessageCopyItem: async (m) => {
        try {
          // A missing source is not an error (idevicebackup2.c answers 0 then); folders are
          // copied whole, inside the backup folder only (the target checks both paths).
          await target.copy(m.from, m.to);
          await this.status(0, '', {});
        } catch (err) {
          const f = fail(err, m.from);
          await this.status(f.code, f.text, {});
        }
      },
      DLMessagePurgeDiskSpace: () => this.status(-1, 'Operation not supported', {}),
    } satisfies DlRequestHandlers<Promise<void>>;
  }
}

function silenceError(ms: number, cause: unknown): IbackupError {
  return new IbackupError('TIMEOUT', {
    message: `The iPhone sent nothing for ${formatDuration(ms)}, the longest this backup waits.`,
    remedy:
      'Unlock the iPhone and enter its passcode if it asks. A phone with many files can prepare for a long time: run again with a longer wait, e.g. --wait 2h.',
    cause,
    details: { waitMs: ms },
  });
}

/** "60 min", "2 h", "45 s". */
export function formatDuration(ms: number): string {
  if (ms >= 2 * 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} min`;
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

function unexpected(what: string, got: DeviceLinkMessage): IbackupError {
  return new IbackupError('PROTOCOL_DECODE', {
    message: `The iPhone sent ${got.name === 'unknown' ? got.messageName : got.name} where ${what} was expected.`,
  });
}
