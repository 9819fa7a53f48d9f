/**
 * The virtual iPhone server: a usbmuxd-compatible socket with one or more virtual devices behind
 * it, their persisted state, hotplug events and the control actions. Library API for in-process
 * use; `ibackup emulator start` wraps it.
 */
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { IbackupError } from '../errors.js';
import type { PlistDict } from '../protocol/plist/index.js';
import { formatSocketAddress, parseSocketAddress, type SocketAddress } from '../transport/address.js';
import { listenSocket } from '../transport/connect.js';
import { VirtualDevice, type ServiceDefinition } from './device.js';
import { DeviceRuntime } from './device-services.js';
import { resolveProfile, type ProfileOverrides } from './profile.js';
import type { DeviceProfile, PasscodeBehaviour, TrustBehaviour } from './profile-types.js';
import { EmulatorState } from './state.js';
import { serveUsbmuxClient, type MuxEvent, type MuxHost } from './usbmuxd-server.js';
import { runControl } from './ctl.js';

export interface EmulatorOptions {
  /** Where to listen: `UNIX:/path` or `host:port` (default `UNIX:<stateDir>/usbmuxd.sock`). */
  listen?: string | SocketAddress;
  /** The state folder (pairings, device keys), like a phone's own storage. */
  stateDir: string;
  /** Built-in profile name, a JSON file path, or overrides (default typical). */
  profile?: string | ProfileOverrides;
  /** `--ios X.Y`. */
  ios?: string;
  /** `--time-scale X`: multiplies the devices' modelled delays (replaces the profile's). */
  timeScale?: number;
  /** How many devices to attach at start (default 1). */
  devices?: number;
  /** Services by name, added to every device (the backup services). */
  services?: Map<string, ServiceDefinition>;
  now?: () => number;
}

export interface DeviceSummary {
  udid: string;
  deviceId: number;
  name: string;
  productType: string;
  iosVersion: string;
  profile: string;
  trust: TrustBehaviour;
  passcode: PasscodeBehaviour;
  pairedHosts: number;
}

export class Emulator implements MuxHost {
  private readonly attached = new Map<string, VirtualDevice>();
  /** Devices unplugged earlier, by UDID: `attach` with a UDID plugs one back in with its state. */
  private readonly unplugged = new Map<string, VirtualDevice>();
  private readonly eventListeners = new Set<(e: MuxEvent) => void>();
  private readonly clients = new Map<number, PlistDict>();
  private nextDeviceId = 1;
  private nextClientId = 1;
  private nextIndex = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private addr: SocketAddress | undefined;

  private constructor(
    private readonly opts: EmulatorOptions,
    readonly state: EmulatorState,
  ) {}

  /** Starts the server; resolves once it accepts connections. */
  static async start(opts: EmulatorOptions): Promise<Emulator> {
    const state = await EmulatorState.open(opts.stateDir);
    const emu = new Emulator(opts, state);
    const count = opts.devices ?? 1;
    for (let i = 0; i < count; i++) await emu.attach();
    const listen =
      opts.listen === undefined
        ? { kind: 'unix' as const, path: join(opts.stateDir, 'usbmuxd.sock') }
        : typeof opts.listen === 'string'
          ? parseSocketAddress(opts.listen)
          : opts.listen;
    const { server, address } = await listenSocket(listen, (sock) => {
      emu.sockets.add(sock);
      sock.once('close', () => emu.sockets.delete(sock));
      serveUsbmuxClient(sock, emu);
    });
    emu.server = server;
    emu.addr = address;
    return emu;
  }

  /** The address clients use (the real port when 0 was asked). */
  get address(): SocketAddress {
    if (!this.addr) throw new IbackupError('INTERNAL', { message: 'The emulator is not listening.' });
    return this.addr;
  }

  /** `USBMUXD_SOCKET_ADDRESS` value for clients. */
  get socketAddress(): string {
    return formatSocketAddress(this.address);
  }

  // ---- MuxHost ----

  devices(): VirtualDevice[] {
    return [...this.attached.values()];
  }

  systemBuid(): string {
    return this.state.systemBuid();
  }

  readPairRecord(udid: string): Promise<Uint8Array | null> {
    return this.state.readPairRecord(udid).catch(() => null);
  }

  async savePairRecord(udid: string, data: Uint8Array): Promise<void> {
    await this.state.savePairRecord(udid, data);
    const device = this.attached.get(udid);
    if (device) this.emitEvent({ type: 'paired', deviceId: device.deviceId });
  }

  deletePairRecord(udid: string): Promise<boolean> {
    return this.state.deletePairRecord(udid).catch(() => false);
  }

  subscribe(listener: (e: MuxEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  control(request: PlistDict): Promise<unknown> {
    return runControl(this, request);
  }

  listeners(): PlistDict[] {
    return [...this.clients.entries()].map(([id, info]) => ({
      Blacklisted: false,
      ConnType: 0,
      'ID String': `${id}-${typeof info.ProgName === 'string' ? info.ProgName : 'unknown'}`,
      ProgName: typeof info.ProgName === 'string' ? info.ProgName : 'unknown',
      kLibUSBMuxVersion: typeof info.kLibUSBMuxVersion === 'number' ? info.kLibUSBMuxVersion : 3,
    }));
  }

  registerClient(info: PlistDict): () => void {
    const id = this.nextClientId++;
    this.clients.set(id, info);
    return () => this.clients.delete(id);
  }

  // ---- control actions (library API) ----

  /**
   * Plugs in a new virtual device, or with `udid` plugs back one unplugged earlier: same identity,
   * state folder and content, and the owner's behaviour (trust, passcode, lock) as it was.
   */
  async attach(opts: { profile?: string | ProfileOverrides; udid?: string } = {}): Promise<VirtualDevice> {
    if (opts.udid !== undefined) return this.replug(opts.udid);
    const profileOpt = opts.profile ?? this.opts.profile;
    const profile = await resolveProfile({
      ...(profileOpt === undefined ? {} : { profile: profileOpt }),
      ...(this.opts.ios === undefined ? {} : { ios: this.opts.ios }),
      ...(this.opts.timeScale === undefined ? {} : { timeScale: this.opts.timeScale }),
      index: this.nextIndex++,
    });
    return this.plugIn(profile);
  }

  private async plugIn(profile: DeviceProfile): Promise<VirtualDevice> {
    if (this.attached.has(profile.identity.udid)) {
      throw new IbackupError('USAGE', {
        message: `A device with UDID ${profile.identity.udid} is already attached.`,
        remedy: 'Detach it first, or attach a profile with another UDID.',
      });
    }
    const deviceState = await this.state.device(profile.identity.udid);
    const runtime = await DeviceRuntime.open(profile, deviceState.dir);
    const device = new VirtualDevice({
      runtime,
      deviceId: this.nextDeviceId++,
      profile,
      state: deviceState,
      services: new Map(this.opts.services ?? []),
      ...(this.opts.now ? { now: this.opts.now } : {}),
    });
    runtime.armFaults(profile);
    runtime.onReboot = () => void this.reboot(device.udid).catch(() => undefined);
    this.attached.set(device.udid, device);
    this.emitEvent({ type: 'attached', device });
    return device;
  }

  /**
   * Restarts a device like a phone after a restore: it disappears (Detached), then comes back
   * (Attached) with the same state and content after `delayMs`, keeping the owner's behaviour.
   */
  async reboot(udid: string, delayMs = 1_000): Promise<VirtualDevice | undefined> {
    const device = this.find(udid);
    await device.runtime?.saveJournal();
    if (this.attached.get(device.udid) !== device) return undefined;
    this.detach(device.udid);
    await new Promise((r) => setTimeout(r, delayMs));
    if (!this.server || this.attached.has(device.udid)) return undefined;
    const again = await this.plugIn(device.profile);
    again.passcode = device.passcode;
    again.setTrust(device.trust.mode);
    again.locked = device.locked;
    return again;
  }

  private async replug(udid: string): Promise<VirtualDevice> {
    const norm = (s: string): string => s.replace(/-/g, '').toLowerCase();
    const earlier = [...this.unplugged.values()].find((d) => norm(d.udid) === norm(udid));
    if (!earlier) {
      if ([...this.attached.keys()].some((u) => norm(u) === norm(udid))) return this.find(udid);
      throw new IbackupError('DEVICE_NOT_FOUND', {
        message: `No virtual device "${udid}" was unplugged from this emulator.`,
        remedy: 'Attach a new one without a UDID, or use a UDID that "detach" unplugged.',
      });
    }
    await earlier.runtime?.saveJournal();
    this.unplugged.delete(earlier.udid);
    const again = await this.plugIn(earlier.profile);
    again.passcode = earlier.passcode;
    again.setTrust(earlier.trust.mode);
    again.locked = earlier.locked;
    return again;
  }

  /** Unplugs a device: its connections drop and listeners see Detached. */
  detach(udid: string): void {
    const device = this.find(udid);
    this.attached.delete(device.udid);
    this.unplugged.set(device.udid, device);
    device.disconnectAll();
    this.emitEvent({ type: 'detached', deviceId: device.deviceId });
  }

  /** Finds an attached device by UDID (case-insensitive, dash optional) or name. */
  find(udidOrName: string): VirtualDevice {
    const norm = (s: string): string => s.replace(/-/g, '').toLowerCase();
    const wanted = norm(udidOrName);
    const d =
      [...this.attached.values()].find((x) => norm(x.udid) === wanted) ??
      [...this.attached.values()].find((x) => x.deviceName === udidOrName);
    if (!d) {
      throw new IbackupError('DEVICE_NOT_FOUND', {
        message: `No virtual device "${udidOrName}" is attached.`,
        remedy: 'Run "ibackup emulator ctl ADDR list" to see the attached devices.',
      });
    }
    return d;
  }

  summary(device: VirtualDevice): DeviceSummary {
    return {
      udid: device.udid,
      deviceId: device.deviceId,
      name: device.deviceName,
      productType: device.profile.identity.productType,
      iosVersion: device.profile.identity.productVersion,
      profile: device.profile.name,
      trust: device.trust.mode,
      passcode: device.passcode,
      pairedHosts: device.state.pairings().length,
    };
  }

  async close(): Promise<void> {
    for (const d of this.attached.values()) d.disconnectAll();
    this.eventListeners.clear();
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private emitEvent(e: MuxEvent): void {
    for (const l of this.eventListeners) l(e);
  }
}
