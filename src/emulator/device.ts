/**
 * One virtual iPhone: its identity and lockdown values, the owner's answers to the trust dialog,
 * the pairings it remembers, its ports and services. It is what lockdownd and the usbmuxd role
 * talk to.
 */
import { createPrivateKey, type X509Certificate } from 'node:crypto';
import type { PlistDict, PlistValue } from '../protocol/plist/index.js';
import type { Link, TlsOptions } from '../transport/link.js';
import { buildDomains, getValue, removeValue, setValue, ROOT_DOMAIN, type LockdownStore } from './identity.js';
import { serverTlsFor } from './ios-connection.js';
import {
  serveLockdown,
  type LockdownBackend,
  type LockdownErrorName,
  type Outcome,
  type StartedService,
} from './lockdownd.js';
import { isAcceptedClientCertificate, pairingFromRecord, validatePairRecord } from './pairing.js';
import { DevicePorts } from './ports.js';
import type { DeviceProfile, PasscodeBehaviour, TrustBehaviour } from './profile-types.js';
import type { DeviceState } from './state.js';
import type { MuxDevice } from './usbmuxd-server.js';
import { TrustDialog } from './trust.js';
import type { DeviceRuntime } from './device-services.js';
import { hostGoneReason } from './services/mobilebackup2/index.js';
import { HEARTBEAT_SERVICE, serveHeartbeat } from './services/heartbeat.js';

/** The lockdown domain of "Show this iPhone when on Wi-Fi" (EnableWifiConnections). */
export const WIRELESS_DOMAIN = 'com.apple.mobile.wireless_lockdown';

/** A device service: how lockdown starts it and what serves its connection. */
export interface ServiceDefinition {
  /** Whether StartService answers EnableServiceSSL (the connection starts with a TLS handshake). */
  ssl: boolean;
  /** Whether the host must present the pairing's EscrowBag (backup services). */
  needsEscrowBag?: boolean;
  serve(link: Link, device: VirtualDevice): void;
}

export interface VirtualDeviceOptions {
  deviceId: number;
  profile: DeviceProfile;
  state: DeviceState;
  /** Service name → definition. */
  services?: Map<string, ServiceDefinition>;
  now?: () => number;
  /** Called when a pairing is added or removed. */
  onPairingChange?: () => void;
  /** Called when a host turns "Show this iPhone when on Wi-Fi" on or off. */
  onWifiChange?: () => void;
  /** Content, media partition and services (a device without one offers lockdown only). */
  runtime?: DeviceRuntime;
}

export class VirtualDevice implements MuxDevice, LockdownBackend {
  readonly deviceId: number;
  readonly udid: string;
  readonly profile: DeviceProfile;
  readonly state: DeviceState;
  readonly trust: TrustDialog;
  readonly services: Map<string, ServiceDefinition>;
  readonly runtime: DeviceRuntime | undefined;
  private readonly values: LockdownStore;
  private readonly ports: DevicePorts;
  private readonly links = new Set<Link>();
  private readonly onPairingChange: () => void;
  private readonly onWifiChange: () => void;
  /** The screen is locked (pairing answers PasswordProtected, protected services refuse). */
  locked: boolean;
  /** When the owner types the passcode the device asks for. */
  passcode: PasscodeBehaviour;

  constructor(opts: VirtualDeviceOptions) {
    this.deviceId = opts.deviceId;
    this.profile = opts.profile;
    this.udid = opts.profile.identity.udid;
    this.state = opts.state;
    this.runtime = opts.runtime;
    this.services = new Map([
      ...(opts.runtime ? opts.runtime.services(this, opts.profile) : []),
      [HEARTBEAT_SERVICE, { ssl: true, serve: (link) => serveHeartbeat(link, opts.profile.behaviour.timeScale) }],
      ...(opts.services ?? []),
    ]);
    this.onPairingChange = opts.onPairingChange ?? (() => undefined);
    this.onWifiChange = opts.onWifiChange ?? (() => undefined);
    this.trust = new TrustDialog(opts.profile.behaviour.trust, opts.now);
    this.locked = opts.profile.behaviour.locked;
    this.passcode = opts.profile.behaviour.passcode;
    this.values = buildDomains(opts.profile, opts.state.publicKeyPkcs1Pem, {
      ...(opts.now ? { now: opts.now } : {}),
      willEncrypt: () => this.state.settings().backupPassword !== null,
    });
    const name = opts.state.settings().deviceName;
    const root = this.values.get(ROOT_DOMAIN);
    if (name !== null && root) root.DeviceName = name;
    const wireless = this.values.get(WIRELESS_DOMAIN);
    if (wireless) wireless.EnableWifiConnections = opts.state.settings().wifiConnections;
    this.ports = new DevicePorts((link) => this.track(link, () => serveLockdown(link, this)));
  }

  get deviceName(): string {
    const v = getValue(this.values, { key: 'DeviceName', sessionActive: true });
    return 'value' in v && typeof v.value === 'string' ? v.value : this.profile.identity.deviceName;
  }

  // ---- usbmuxd role ----

  attachedRecord(): PlistDict {
    return {
      MessageType: 'Attached',
      DeviceID: this.deviceId,
      Properties: {
        ConnectionSpeed: 480_000_000,
        ConnectionType: 'USB',
        DeviceID: this.deviceId,
        LocationID: 0x01100000 + this.deviceId,
        ProductID: 0x12a8,
        SerialNumber: this.udid,
        USBSerialNumber: this.udid.replace('-', ''),
      },
    };
  }

  acceptsPort(port: number): boolean {
    return this.ports.accepts(port);
  }

  connect(port: number, link: Link): void {
    this.ports.connect(port, link);
  }

  /** Drops every open connection (the cable was pulled). */
  disconnectAll(): void {
    for (const run of this.runtime?.runs ?? []) run.abort(hostGoneReason());
    this.ports.closeAll();
    for (const link of this.links) link.close();
    this.links.clear();
  }

  // ---- lockdownd backend ----

  getValue(domain: string | undefined, key: string | undefined, sessionActive: boolean): Outcome<PlistValue> {
    const r = getValue(this.values, {
      ...(domain === undefined ? {} : { domain }),
      ...(key === undefined ? {} : { key }),
      sessionActive,
    });
    return 'value' in r ? { ok: true, value: r.value } : { ok: false, error: r.error };
  }

  setValue(domain: string | undefined, key: string, value: PlistValue): Outcome<null> {
    const r = setValue(this.values, { ...(domain === undefined ? {} : { domain }), key, value, sessionActive: true });
    if ('error' in r) return { ok: false, error: r.error };
    if ((domain === undefined || domain === ROOT_DOMAIN) && key === 'DeviceName' && typeof value === 'string') {
      void this.state.updateSettings({ deviceName: value });
    }
    if (domain === WIRELESS_DOMAIN && key === 'EnableWifiConnections') {
      // The phone keeps the setting, and starts (or stops) showing itself on the network.
      void this.state.updateSettings({ wifiConnections: value === true }).then(() => this.onWifiChange());
    }
    return { ok: true, value: null };
  }

  removeValue(domain: string | undefined, key: string): Outcome<null> {
    const r = removeValue(this.values, { ...(domain === undefined ? {} : { domain }), key, sessionActive: true });
    return 'error' in r ? { ok: false, error: r.error } : { ok: true, value: null };
  }

  async pair(record: PlistDict): Promise<Outcome<Uint8Array>> {
    if (this.locked) return { ok: false, error: 'PasswordProtected' };
    const check = validatePairRecord(record, this.state.privateKeyPem);
    if (!check.ok) return { ok: false, error: check.error };
    const existing = this.state.getPairing(check.hostId);
    const answer = existing ? 'trusted' : this.trust.ask();
    switch (answer) {
      case 'pending':
        return { ok: false, error: 'PairingDialogResponsePending' };
      case 'denied':
        return { ok: false, error: 'UserDeniedPairing' };
      case 'locked':
        return { ok: false, error: 'PasswordProtected' };
      case 'trusted': {
        const pairing = pairingFromRecord(check, existing ? { escrowBag: existing.escrowBag } : {});
        await this.state.addPairing(check.hostId, pairing);
        this.onPairingChange();
        return { ok: true, value: pairing.escrowBag };
      }
    }
  }

  isPaired(hostId: string): boolean {
    return this.state.getPairing(hostId) !== undefined;
  }

  async unpair(hostId: string): Promise<void> {
    await this.state.removePairing(hostId);
    this.onPairingChange();
  }

  tlsServerOptions(hostId: string): TlsOptions {
    const pairing = this.state.getPairing(hostId);
    return {
      // The device presents the certificate the host issued for its key when pairing.
      cert: pairing ? pairing.deviceCertificate : new Uint8Array(),
      key: createPrivateKey(this.state.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString(),
      ...serverTlsFor(this.profile.identity.productVersion),
    };
  }

  acceptsClientCertificate(hostId: string, cert: X509Certificate | undefined): boolean {
    const pairing = this.state.getPairing(hostId);
    return pairing !== undefined && isAcceptedClientCertificate(cert, pairing);
  }

  async startService(
    name: string,
    hostId: string,
    escrowBag: Uint8Array | undefined,
  ): Promise<Outcome<StartedService>> {
    const def = this.services.get(name);
    if (!def) return { ok: false, error: 'InvalidService' };
    const pairing = this.state.getPairing(hostId);
    if (!pairing) return { ok: false, error: 'InvalidHostID' };
    if (def.needsEscrowBag && this.locked) {
      const escrowOk = escrowBag !== undefined && Buffer.from(escrowBag).equals(Buffer.from(pairing.escrowBag));
      if (!escrowOk) return { ok: false, error: escrowBag === undefined ? 'PasswordProtected' : 'EscrowLocked' };
    }
    const tls = this.tlsServerOptions(hostId);
    const port = this.ports.open((link) =>
      this.track(link, async () => {
        if (def.ssl) await link.startTlsServer({ ...tls, permanent: true });
        def.serve(link, this);
      }),
    );
    return { ok: true, value: { port, ssl: def.ssl } };
  }

  // ---- run-time control ----

  /** "Show this iPhone when on Wi-Fi" (lockdown's EnableWifiConnections). */
  get wifiConnections(): boolean {
    return this.state.settings().wifiConnections;
  }

  /** A backup finished: lockdown reports when (com.apple.mobile.backup LastiTunesBackupDate). */
  recordBackup(date: Date): void {
    const domain = this.values.get('com.apple.mobile.backup');
    if (domain) {
      domain.LastiTunesBackupDate = Math.floor(date.getTime() / 1000) - 978_307_200;
      domain.LastiTunesBackupTZ = 'GMT';
    }
  }

  setTrust(behaviour: TrustBehaviour): void {
    this.trust.set(behaviour);
    this.locked = behaviour.mode === 'locked';
  }

  private track(link: Link, run: () => unknown): void {
    this.links.add(link);
    link.once('end', () => this.links.delete(link));
    Promise.resolve()
      .then(run)
      .catch(() => link.close());
  }
}

export type { LockdownErrorName };
