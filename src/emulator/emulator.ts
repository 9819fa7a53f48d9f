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
import { serveUsbmuxClient, type MuxDevice, type MuxEvent, type MuxHost } from './usbmuxd-server.js';
import { NetworkPresence } from './network-presence.js';
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
  /** How fast a phone's Wi-Fi link carries data, bytes per second (default 10 MB/s, below USB's). */
  wifiBytesPerSecond?: number;
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
  /** Plugged in over USB. */
  usb: boolean;
  /** "Show this iPhone when on Wi-Fi". */
  wifiConnections: boolean;
  /** The DeviceID of its Wi-Fi entry, or null when it is not listed over Wi-Fi. */
  network: number | null;
}

export class Emulator implements MuxHost {
  private readonly attached = new Map<string, VirtualDevice>();
  /** Devices unplugged earlier, by UDID: `attach` with a UDID plugs one back in with its state. */
  private readonly unplugged = new Map<string, VirtualDevice>();
  /** Phones listed over Wi-Fi (their setting on, on the computer's network), by UDID. */
  private readonly presences = new Map<string, NetworkPresence>();
  /** Phones that left the computer's Wi-Fi network (every phone is on it until told otherwise). */
  private readonly awayFromWifi = new Set<string>();
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

  /** The phones plugged in over USB. */
  devices(): VirtualDevice[] {
    return [...this.attached.values()];
  }

  muxDevices(): MuxDevice[] {
    return [...this.attached.values(), ...this.presences.values()];
  }

  /** The phones listed over Wi-Fi. */
  networkDevices(): NetworkPresence[] {
    return [...this.presences.values()];
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
      onWifiChange: () => this.updatePresence(device),
    });
    runtime.armFaults(profile);
    runtime.onReboot = () => void this.reboot(device.udid).catch(() => undefined);
    this.attached.set(device.udid, device);
    this.emitEvent({ type: 'attached', device });
    const presence = this.presences.get(device.udid);
    if (presence) presence.device = device;
    this.updatePresence(device);
    return device;
  }

  /**
   * Lists the phone over Wi-Fi when its "Show this iPhone when on Wi-Fi" is on and it is on the
   * computer's network; takes the entry away otherwise.
   */
  private updatePresence(device: VirtualDevice): void {
    const listed = this.presences.get(device.udid);
    const wanted = device.wifiConnections && !this.awayFromWifi.has(device.udid);
    if (wanted && !listed) {
      const p = new NetworkPresence(device, this.nextDeviceId++, this.opts.wifiBytesPerSecond ?? 10_000_000);
      this.presences.set(device.udid, p);
      this.emitEvent({ type: 'attached', device: p });
    } else if (!wanted && listed) {
      this.presences.delete(device.udid);
      listed.link.close();
      this.emitEvent({ type: 'detached', deviceId: listed.deviceId });
    }
  }

  /**
   * The phone's Wi-Fi: `join` the computer's network (listed over Wi-Fi when its setting is on),
   * `leave` it (its Wi-Fi connections close and the entry goes), or go `silent` (out of range: the
   * entry stays listed and its connections stay open, but nothing passes any more).
   */
  wifi(udid: string, mode: 'join' | 'leave' | 'silent'): NetworkPresence | undefined {
    // A phone whose cable was pulled earlier may come back over Wi-Fi alone.
    const norm = (s: string): string => s.replace(/-/g, '').toLowerCase();
    const away = [...this.unplugged.values()].find((d) => norm(d.udid) === norm(udid));
    const device = away && !this.presences.has(away.udid) ? away : this.find(udid);
    if (mode === 'silent') {
      const p = this.presences.get(device.udid);
      p?.link.goSilent();
      return p;
    }
    if (mode === 'join') this.awayFromWifi.delete(device.udid);
    else this.awayFromWifi.add(device.udid);
    this.updatePresence(device);
    return this.presences.get(device.udid);
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

  /**
   * Unplugs a device: its connections drop and listeners see Detached. A phone also listed over
   * Wi-Fi stays listed there (reachable without its cable).
   */
  detach(udid: string): void {
    const device = [...this.attached.values()].find((d) => d.udid === this.find(udid).udid);
    if (!device) {
      throw new IbackupError('DEVICE_NOT_FOUND', {
        message: `The virtual device "${udid}" is not plugged in (it is only on Wi-Fi).`,
        remedy: 'Use "wifi UDID leave" to take it off the network.',
      });
    }
    this.attached.delete(device.udid);
    this.unplugged.set(device.udid, device);
    device.disconnectAll();
    this.emitEvent({ type: 'detached', deviceId: device.deviceId });
  }

  /** Finds a device plugged in or listed over Wi-Fi, by UDID (case-insensitive, dash optional) or name. */
  find(udidOrName: string): VirtualDevice {
    const norm = (s: string): string => s.replace(/-/g, '').toLowerCase();
    const wanted = norm(udidOrName);
    const all = [...this.attached.values(), ...[...this.presences.values()].map((p) => p.device)];
    const d = all.find((x) => norm(x.udid) === wanted) ?? all.find((x) => x.deviceName === udidOrName);
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
      usb: this.attached.get(device.udid) === device,
      wifiConnections: device.wifiConnections,
      network: this.presences.get(device.udid)?.deviceId ?? null,
    };
  }

  async close(): Promise<void> {
    for (const d of this.attached.values()) d.disconnectAll();
    for (const p of this.presences.values()) p.link.close();
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
