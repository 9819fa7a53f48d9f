/**
 * One connected device as the host reaches it: lockdown connections, the trusted session, and the
 * one way to open a device service (session → StartService → usbmuxd Connect → TLS if asked).
 */
import { IbackupError } from '../errors.js';
import type { Link } from '../transport/link.js';
import { LOCKDOWN_PORT, LockdownClient, tlsOptions } from './lockdown/client.js';
import type { PairRecordStore } from './lockdown/pair-records.js';
import type { PairRecord } from './lockdown/pairing.js';
import type { MuxDeviceInfo, UsbmuxClient } from './usbmux.js';

export interface HostDeviceOptions {
  timeoutMs?: number;
}

export class HostDevice {
  /** The connections open to this device (closed together when its link is lost). */
  private readonly open = new Set<Link>();
  /** Set once the link to the device is known lost: no new connection is tried. */
  private lost: IbackupError | undefined;

  constructor(
    readonly mux: UsbmuxClient,
    readonly info: MuxDeviceInfo,
    readonly records: PairRecordStore,
    private readonly opts: HostDeviceOptions = {},
  ) {}

  get udid(): string {
    return this.info.udid;
  }

  /**
   * Closes every connection this handle opened, as an unplugged cable would: requests waiting
   * on them fail at once instead of waiting for their timeouts (a Wi-Fi link that went silent).
   * With a reason, the handle stays closed: later connections fail at once with it.
   */
  closeAll(reason?: IbackupError): void {
    this.lost ??= reason;
    for (const link of this.open) link.close();
    this.open.clear();
  }

  private track(link: Link): Link {
    this.open.add(link);
    link.once('end', () => this.open.delete(link));
    return link;
  }

  /** A new lockdown connection (QueryType checked). */
  async lockdown(signal?: AbortSignal): Promise<LockdownClient> {
    if (this.lost) throw this.lost;
    const link = this.track(await this.mux.connect(this.info.deviceId, LOCKDOWN_PORT, signal));
    const client = new LockdownClient(
      link,
      this.opts.timeoutMs === undefined ? {} : { timeoutMs: this.opts.timeoutMs },
    );
    try {
      const type = await client.queryType();
      if (type !== 'com.apple.mobile.lockdown') {
        throw new IbackupError('DEVICE_ERROR', {
          message: `The iPhone is in ${type === 'com.apple.mobile.restored' ? 'restore mode' : `an unexpected mode (${type})`}.`,
          remedy: 'Restart the iPhone normally, unlock it and try again.',
        });
      }
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  /** The stored pair record, or NOT_PAIRED. */
  async pairRecord(): Promise<PairRecord> {
    const found = await this.records.read(this.udid);
    if (!found) throw new IbackupError('NOT_PAIRED');
    return found.record;
  }

  /** Runs `fn` inside a trusted lockdown session, then ends it. */
  async withSession<T>(
    fn: (lockdown: LockdownClient, record: PairRecord) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const record = await this.pairRecord();
    const client = await this.lockdown(signal);
    try {
      await client.startSession(record);
      const result = await fn(client, record);
      await client.stopSession().catch(() => undefined);
      return result;
    } finally {
      client.close();
    }
  }

  /** Opens a device service by name; the returned link is ready (TLS already on when required). */
  async startService(name: string, opts: { escrowBag?: boolean; signal?: AbortSignal } = {}): Promise<Link> {
    let version = '';
    const { started, record } = await this.withSession(async (lockdown, rec) => {
      version = String(await lockdown.getValue(undefined, 'ProductVersion'));
      if (opts.escrowBag && !rec.EscrowBag) {
        throw new IbackupError('NOT_PAIRED', {
          message: 'The pairing with this iPhone lacks its escrow bag, which backups need.',
          remedy: 'Run "ibackup unpair", then "ibackup pair" and tap "Trust" on the iPhone.',
        });
      }
      return { started: await lockdown.startService(name, opts.escrowBag ? rec.EscrowBag : undefined), record: rec };
    }, opts.signal);
    const link = this.track(await this.mux.connect(this.info.deviceId, started.port, opts.signal));
    if (started.ssl) {
      try {
        // A service keeps TLS until it closes (only lockdownd's session can leave it).
        await link.startTlsClient({ ...tlsOptions(record, version), permanent: true });
      } catch (err) {
        link.close();
        throw err;
      }
    }
    return link;
  }
}
