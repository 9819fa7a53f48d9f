/**
 * mobilebackup2, host side: the DeviceLink handshake, a request (Backup, Restore, ChangePassword…),
 * and a correct reply to every file request the device sends, through one exhaustive dispatch
 * table (mobilebackup2-requests.ts). Files are read and written only through the BackupTarget
 * (the backup store), which checks every path.
 */
import {
  DL_EMPTY_PARAMETER,
  decodeDeviceLinkMessage,
  encodeDeviceLinkMessage,
  isDlDeviceRequest,
  type DeviceLinkMessage,
} from '../../protocol/devicelink.js';
import { dlHello } from '../../protocol/devicelink-hello.js';
import { numberValue, type PlistDict } from '../../protocol/plist/index.js';
import { IbackupError, isIbackupError } from '../../errors.js';
import { DlConnection } from '../../transport/dl-connection.js';
import type { Link } from '../../transport/link.js';
import { Mb2Requests } from './mobilebackup2-requests.js';
import type { BackupTarget, Mb2Observer } from './mobilebackup2-target.js';

export type { BackupTarget, Mb2Observer, TargetEntry, TargetFile } from './mobilebackup2-target.js';

export const MOBILEBACKUP2_SERVICE = 'com.apple.mobilebackup2';

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
    const handlers = new Mb2Requests(this.dl, target, observer, opts.signal).table();
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
      const upload = msg.name === 'DLMessageUploadFiles' ? msg.totalBytes : undefined;
      if (typeof p === 'number' && p > 0) observer.progress?.(p, upload);
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
