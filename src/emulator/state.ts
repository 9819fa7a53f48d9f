/**
 * The emulator's persisted state, like a phone's own storage plus the usbmuxd daemon's folder:
 *
 *   <state>/devices/<UDID>/device-key.pem      the device's RSA key (PKCS#1, made once)
 *   <state>/devices/<UDID>/pairings.plist      HostID → certificates, SystemBUID, EscrowBag
 *   <state>/devices/<UDID>/settings.plist      values changed at run time (DeviceName, password)
 *   <state>/lockdown/SystemConfiguration.plist the usbmuxd role's SystemBUID (made once)
 *   <state>/lockdown/<UDID>.plist              pair records hosts saved through usbmuxd, verbatim
 *
 * Folders are 0700, files 0600, and every write goes through a temporary file and a rename.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IbackupError } from '../errors.js';
import { parsePlist, serializeXmlPlist } from '../protocol/plist/index.js';
import { isPlistDict, type PlistDict } from '../protocol/plist/types.js';
import { damagedState, ensurePrivateDir, readFileIfExists, readPlistDict, writeFileAtomic } from './state-files.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** What the device remembers about a trusted computer. */
export interface StoredPairing {
  hostId: string;
  /** PEM bytes exactly as the host sent them in its Pair request. */
  rootCertificate: Uint8Array;
  hostCertificate: Uint8Array;
  deviceCertificate: Uint8Array;
  systemBuid: string;
  escrowBag: Uint8Array;
  pairedAt: Date;
}

/** Device values changed while it runs; null = never changed / none. */
export interface DeviceSettings {
  /** Name given with SetValue DeviceName (overrides the profile's). */
  deviceName: string | null;
  /** The backup password ("Encrypt local backup"); null when encryption is off. */
  backupPassword: string | null;
  /**
   * "Show this iPhone when on Wi-Fi": lockdown's com.apple.mobile.wireless_lockdown
   * EnableWifiConnections, which a host sets and the phone keeps across restarts.
   */
  wifiConnections: boolean;
}

/** UDIDs and pair-record ids usable as file names (no separators, no dots). */
const RECORD_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
const SYSTEM_CONFIGURATION = 'SystemConfiguration';

function isRecordId(id: string): boolean {
  return RECORD_ID.test(id) && id !== SYSTEM_CONFIGURATION;
}

function unsafeId(id: string): IbackupError {
  return new IbackupError('UNSAFE_PATH', {
    message: `"${id}" is not a usable device identifier.`,
    remedy: 'Use the UDID the device reports (letters, digits and dashes).',
    details: { id },
  });
}

/** Runs writes one after another so the newest state always lands last. */
class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  run(task: () => Promise<void>): Promise<void> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export class EmulatorState {
  private readonly devices = new Map<string, Promise<DeviceState>>();
  private readonly lockdownWrites = new WriteQueue();

  private constructor(
    readonly dir: string,
    private readonly buid: string,
  ) {}

  /** Opens (creating when needed) the state folder. */
  static async open(dir: string): Promise<EmulatorState> {
    await ensurePrivateDir(dir);
    await ensurePrivateDir(join(dir, 'devices'));
    const lockdownDir = join(dir, 'lockdown');
    await ensurePrivateDir(lockdownDir);
    const configPath = join(lockdownDir, `${SYSTEM_CONFIGURATION}.plist`);
    const config = await readPlistDict(configPath);
    let buid = config?.['SystemBUID'];
    if (config !== null && typeof buid !== 'string') throw damagedState(configPath, 'it has no SystemBUID string');
    if (typeof buid !== 'string') {
      buid = randomUUID().toUpperCase();
      await writeFileAtomic(configPath, serializeXmlPlist({ SystemBUID: buid }));
    }
    return new EmulatorState(dir, buid);
  }

  /** usbmuxd's SystemBUID (ReadBUID): stable across restarts. */
  systemBuid(): string {
    return this.buid;
  }

  private recordPath(udid: string): string {
    return join(this.dir, 'lockdown', `${udid}.plist`);
  }

  /** ReadPairRecord: the bytes a host saved, or null. */
  async readPairRecord(udid: string): Promise<Uint8Array | null> {
    if (!isRecordId(udid)) return null;
    return readFileIfExists(this.recordPath(udid));
  }

  /** SavePairRecord: keeps the bytes verbatim; they must be a plist dict (binary or XML). */
  async savePairRecord(udid: string, bytes: Uint8Array): Promise<void> {
    if (!isRecordId(udid)) throw unsafeId(udid);
    const parsed = parsePlist(bytes);
    if (!isPlistDict(parsed)) {
      throw new IbackupError('PROTOCOL_DECODE', { message: 'Malformed data: a pair record must be a dictionary.' });
    }
    const copy = bytes.slice();
    await this.lockdownWrites.run(() => writeFileAtomic(this.recordPath(udid), copy));
  }

  /** DeletePairRecord: true when a record was there. */
  async deletePairRecord(udid: string): Promise<boolean> {
    if (!isRecordId(udid)) return false;
    let existed = false;
    await this.lockdownWrites.run(async () => {
      existed = (await readFileIfExists(this.recordPath(udid))) !== null;
      await rm(this.recordPath(udid), { force: true });
    });
    return existed;
  }

  /** UDIDs that have a saved pair record. */
  async pairRecordIds(): Promise<string[]> {
    const names = await readdir(join(this.dir, 'lockdown'));
    return names
      .filter((n) => n.endsWith('.plist'))
      .map((n) => n.slice(0, -'.plist'.length))
      .filter(isRecordId)
      .sort();
  }

  /** The persisted state of one device (created on first use, its key generated once). */
  device(udid: string): Promise<DeviceState> {
    if (!isRecordId(udid)) return Promise.reject(unsafeId(udid));
    let pending = this.devices.get(udid);
    if (pending === undefined) {
      pending = DeviceState.open(join(this.dir, 'devices', udid), udid);
      this.devices.set(udid, pending);
      pending.catch(() => this.devices.delete(udid));
    }
    return pending;
  }
}

function pairingToPlist(p: StoredPairing): PlistDict {
  return {
    RootCertificate: p.rootCertificate,
    HostCertificate: p.hostCertificate,
    DeviceCertificate: p.deviceCertificate,
    SystemBUID: p.systemBuid,
    EscrowBag: p.escrowBag,
    PairedAt: p.pairedAt,
  };
}

function pairingFromPlist(hostId: string, v: PlistDict, path: string): StoredPairing {
  const { RootCertificate, HostCertificate, DeviceCertificate, SystemBUID, EscrowBag, PairedAt } = v;
  if (
    !(RootCertificate instanceof Uint8Array) ||
    !(HostCertificate instanceof Uint8Array) ||
    !(DeviceCertificate instanceof Uint8Array) ||
    !(EscrowBag instanceof Uint8Array) ||
    typeof SystemBUID !== 'string' ||
    !(PairedAt instanceof Date)
  ) {
    throw damagedState(path, `the pairing of host ${hostId} is incomplete`);
  }
  return {
    hostId,
    rootCertificate: RootCertificate,
    hostCertificate: HostCertificate,
    deviceCertificate: DeviceCertificate,
    systemBuid: SystemBUID,
    escrowBag: EscrowBag,
    pairedAt: PairedAt,
  };
}

export class DeviceState {
  private readonly writes = new WriteQueue();

  private constructor(
    readonly dir: string,
    readonly udid: string,
    /** The device's RSA private key, PKCS#1 PEM ("-----BEGIN RSA PRIVATE KEY-----"). */
    readonly privateKeyPem: string,
    /** Its public key, PKCS#1 PEM ("-----BEGIN RSA PUBLIC KEY-----"): lockdown's DevicePublicKey. */
    readonly publicKeyPkcs1Pem: string,
    private readonly pairingMap: Map<string, StoredPairing>,
    private currentSettings: DeviceSettings,
  ) {}

  static async open(dir: string, udid: string): Promise<DeviceState> {
    await ensurePrivateDir(dir);
    const keyPath = join(dir, 'device-key.pem');
    const keyBytes = await readFileIfExists(keyPath);
    let privateKeyPem: string;
    if (keyBytes === null) {
      const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
      privateKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
      await writeFileAtomic(keyPath, privateKeyPem);
    } else {
      privateKeyPem = new TextDecoder().decode(keyBytes);
    }
    let publicKeyPkcs1Pem: string;
    try {
      publicKeyPkcs1Pem = createPublicKey(createPrivateKey(privateKeyPem))
        .export({ type: 'pkcs1', format: 'pem' })
        .toString();
    } catch (cause) {
      throw damagedState(keyPath, 'it is not a readable RSA private key', cause);
    }

    const pairingsPath = join(dir, 'pairings.plist');
    const pairings = new Map<string, StoredPairing>();
    for (const [hostId, v] of Object.entries((await readPlistDict(pairingsPath)) ?? {})) {
      if (!isPlistDict(v)) throw damagedState(pairingsPath, `the pairing of host ${hostId} is not a dictionary`);
      pairings.set(hostId, pairingFromPlist(hostId, v, pairingsPath));
    }

    const settingsPath = join(dir, 'settings.plist');
    const s = (await readPlistDict(settingsPath)) ?? {};
    const name = s['DeviceName'];
    const password = s['BackupPassword'];
    if ((name !== undefined && typeof name !== 'string') || (password !== undefined && typeof password !== 'string')) {
      throw damagedState(settingsPath, 'DeviceName and BackupPassword must be strings');
    }
    const wifi = s['EnableWifiConnections'];
    if (wifi !== undefined && typeof wifi !== 'boolean')
      throw damagedState(settingsPath, 'EnableWifiConnections must be true or false');
    const settings: DeviceSettings = {
      deviceName: name ?? null,
      backupPassword: password ?? null,
      wifiConnections: wifi === true,
    };
    return new DeviceState(dir, udid, privateKeyPem, publicKeyPkcs1Pem, pairings, settings);
  }

  getPairing(hostId: string): StoredPairing | undefined {
    return this.pairingMap.get(hostId);
  }

  /** Every trusted computer, oldest pairing first. */
  pairings(): StoredPairing[] {
    return [...this.pairingMap.values()].sort((a, b) => a.pairedAt.getTime() - b.pairedAt.getTime());
  }

  /** Remembers (or replaces) the pairing of a host and saves it. */
  async addPairing(hostId: string, pairing: Omit<StoredPairing, 'hostId'>): Promise<void> {
    this.pairingMap.set(hostId, { ...pairing, hostId });
    await this.savePairings();
  }

  /** Forgets a host ("Reset Location & Privacy" / Unpair); true when it was paired. */
  async removePairing(hostId: string): Promise<boolean> {
    const existed = this.pairingMap.delete(hostId);
    if (existed) await this.savePairings();
    return existed;
  }

  settings(): Readonly<DeviceSettings> {
    return { ...this.currentSettings };
  }

  /** Changes settings and saves them. */
  async updateSettings(patch: Partial<DeviceSettings>): Promise<void> {
    this.currentSettings = { ...this.currentSettings, ...patch };
    await this.saveSettings();
  }

  private savePairings(): Promise<void> {
    return this.writes.run(() => {
      const dict: PlistDict = {};
      for (const [hostId, p] of this.pairingMap) {
        Object.defineProperty(dict, hostId, {
          value: pairingToPlist(p),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return writeFileAtomic(join(this.dir, 'pairings.plist'), serializeXmlPlist(dict));
    });
  }

  private saveSettings(): Promise<void> {
    return this.writes.run(() => {
      const dict: PlistDict = {};
      const { deviceName, backupPassword, wifiConnections } = this.currentSettings;
      if (deviceName !== null) dict['DeviceName'] = deviceName;
      if (backupPassword !== null) dict['BackupPassword'] = backupPassword;
      if (wifiConnections) dict['EnableWifiConnections'] = true;
      return writeFileAtomic(join(this.dir, 'settings.plist'), serializeXmlPlist(dict));
    });
  }
}
