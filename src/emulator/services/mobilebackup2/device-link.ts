/**
 * The phone's end of a DeviceLink connection. Like a real phone it keeps reading what the host
 * sends even while it has nothing to say (its DeviceLink layer reads on a thread of its own:
 * BackupAgent2's `_DLHandlerThreadReadMessage` in the log of libimobiledevice issue 853), so a
 * goodbye is seen during a long silence too: a DLMessageDisconnect ends the request at once, a
 * DLMessagePing is ignored (device_link_service.c (master fa0f791) ~line 289 defines the ping;
 * nothing answers it).
 */
import { IbackupError } from '../../../errors.js';
import type { DlStreamDirection, DlFileStreamEvent } from '../../../protocol/dl-file-stream.js';
import type { PlistValue } from '../../../protocol/plist/index.js';
import { DlConnection, type ReceiveOptions } from '../../../transport/dl-connection.js';

function messageName(v: PlistValue): string | undefined {
  return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}

export class DeviceSideLink extends DlConnection {
  /** Called when the host says goodbye (DLMessageDisconnect). */
  onGoodbye: () => void = () => undefined;
  /** Ends the reading done while the phone is silent. */
  private silent: AbortController | undefined;

  /**
   * Reads what the host sends until the phone sends its next message (or reads a reply itself):
   * only a goodbye or a ping can come then, since the host speaks only to answer the phone.
   */
  listenWhileSilent(): void {
    this.stopListening();
    const c = new AbortController();
    this.silent = c;
    const loop = async (): Promise<void> => {
      // Anything else the host sends unasked is dropped.
      while (!c.signal.aborted) await this.nextMessage({ timeoutMs: 0, signal: c.signal });
    };
    void loop().catch(() => undefined);
  }

  override sendFrame(frame: Uint8Array): Promise<void> {
    this.stopListening();
    return super.sendFrame(frame);
  }

  override writeRaw(...parts: Uint8Array[]): Promise<void> | undefined {
    this.stopListening();
    return super.writeRaw(...parts);
  }

  override receive(opts: ReceiveOptions = {}): Promise<PlistValue> {
    this.stopListening();
    return this.nextMessage(opts);
  }

  override receiveStream(
    direction: DlStreamDirection,
    onEvent: (e: DlFileStreamEvent) => void | Promise<void>,
    opts: ReceiveOptions = {},
  ): Promise<void> {
    this.stopListening();
    return super.receiveStream(direction, onEvent, opts);
  }

  /** The next message that is neither a ping nor a goodbye (a goodbye throws CONNECTION_CLOSED). */
  private async nextMessage(opts: ReceiveOptions): Promise<PlistValue> {
    for (;;) {
      const value = await super.receive(opts);
      const name = messageName(value);
      if (name === 'DLMessagePing') continue;
      if (name === 'DLMessageDisconnect') {
        this.onGoodbye();
        throw new IbackupError('CONNECTION_CLOSED', { message: 'The computer ended the DeviceLink session.' });
      }
      return value;
    }
  }

  private stopListening(): void {
    this.silent?.abort();
    this.silent = undefined;
  }
}
