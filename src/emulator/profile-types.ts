/**
 * The shape of a virtual iPhone's profile: who it is (identity), how it behaves when a computer
 * talks to it (behaviour) and how much it holds (content).
 */
import type { ProfileFault } from './fault-spec.js';

export type { ProfileFault };

export type ProfileName = 'tiny' | 'typical' | 'big';
export const PROFILE_NAMES: readonly ProfileName[] = ['tiny', 'typical', 'big'];

/** "legacy40": 40 lowercase hex digits (before the A12); "modern": "00008030-001A2B3C4D5E802E". */
export type UdidStyle = 'legacy40' | 'modern';

/** What the phone's owner does when "Trust This Computer?" appears. */
export type TrustBehaviour =
  { mode: 'accept' } | { mode: 'deny' } | { mode: 'locked' } | { mode: 'pending'; seconds: number };

/** When the owner types the passcode the phone asks for (backup, encryption changes). */
export type PasscodeBehaviour = { mode: 'enter' } | { mode: 'never' } | { mode: 'after'; seconds: number };

/** Whether each service answers StartService with EnableServiceSSL true (default: as its iOS does, ios-connection.ts). */
export interface ServiceTls {
  afc: boolean;
  notificationProxy: boolean;
  mobilebackup2: boolean;
  installationProxy: boolean;
}

export interface DeviceBehaviour {
  trust: TrustBehaviour;
  passcode: PasscodeBehaviour;
  /** The screen is locked with the passcode (pairing answers PasswordProtected). */
  locked: boolean;
  serviceTls: ServiceTls;
  /** PBKDF2 iterations of the first (SHA-256) key-derivation round of encrypted backups. */
  keyDerivationIterations: number;
  /** Seconds the passcode prompt waits before the request fails with "Device locked" (ios-generations.ts). */
  passcodeTimeoutSeconds: number;
  /**
   * Seconds of silence after the passcode while the phone prepares a backup's snapshot; absent:
   * the iOS generation's figure (ios-generations.ts).
   */
  preparationSeconds?: number;
  /**
   * Multiplies every modelled delay of the phone and its owner (passcode prompt timeout, the
   * owner's `after` delay, preparation silence) so tests compress minutes into milliseconds.
   */
  timeScale: number;
  /**
   * Faults armed when the device is plugged in, as `ctl fault` sets them (see faults.ts):
   * "throttle mbps=50" or {"name": "throttle", "mbps": 50}.
   */
  faults: ProfileFault[];
}

export interface ContentSpec {
  /** Seed of the generated file system. */
  seed: number;
  /** About how many files the phone holds. */
  files: number;
  /** About how many bytes those files hold together (huge files not included). */
  bytes: number;
  /** Sizes of extra single large files (videos), in bytes. */
  hugeFiles: number[];
  /**
   * iCloud Photos (Settings > Photos): "off" (default), "keep-originals" (Download and Keep
   * Originals) or "optimize" (Optimize iPhone Storage: most originals only in iCloud).
   */
  icloudPhotos?: 'off' | 'keep-originals' | 'optimize';
}

/** Every value the virtual iPhone reports about itself. */
export interface DeviceIdentity {
  udid: string;
  udidStyle: UdidStyle;
  deviceName: string;
  productType: string;
  marketingName: string;
  /** iOS version, e.g. "17.5.1". */
  productVersion: string;
  buildVersion: string;
  hardwareModel: string;
  hardwarePlatform: string;
  cpuArchitecture: string;
  chipId: number;
  boardId: number;
  /** ECID, the number in a modern UDID. */
  uniqueChipId: number;
  modelNumber: string;
  regionInfo: string;
  deviceColor: string;
  serialNumber: string;
  mlbSerialNumber: string;
  imei: string;
  /** MobileEquipmentIdentifier: the first 14 digits of the IMEI. */
  meid: string;
  iccid: string;
  /** Empty string when there is no SIM. */
  phoneNumber: string;
  totalCapacityBytes: number;
  usedBytes: number;
  wifiAddress: string;
  bluetoothAddress: string;
  ethernetAddress: string;
  basebandVersion: string;
  firmwareVersion: string;
  timeZone: string;
  locale: string;
  language: string;
  uses24HourClock: boolean;
  /** Battery charge in percent. */
  batteryLevel: number;
  batteryCharging: boolean;
  /** A passcode is set on the phone (PasswordProtected). */
  passcodeSet: boolean;
}

/** A fully resolved virtual iPhone. */
export interface DeviceProfile {
  /** Built-in name, or the name given in (or the file name of) a JSON profile. */
  name: string;
  /** Position among the devices started together (0 for the first). */
  index: number;
  identity: DeviceIdentity;
  behaviour: DeviceBehaviour;
  content: ContentSpec;
}

/** What a JSON profile file may contain: any part of a profile, merged over its base. */
export interface ProfileOverrides {
  name?: string;
  /** The built-in profile this one starts from (default "typical"). */
  extends?: ProfileName;
  identity?: Partial<DeviceIdentity>;
  behaviour?: Partial<Omit<DeviceBehaviour, 'serviceTls'>> & { serviceTls?: Partial<ServiceTls> };
  content?: Partial<ContentSpec>;
}

/** Behaviour before the device is derived: serviceTls holds only what was asked for, the rest follows the iOS version. */
export type SpecBehaviour = Omit<DeviceBehaviour, 'serviceTls'> & { serviceTls: Partial<ServiceTls> };

/** A profile before per-device values are derived: identity holds only what was asked for. */
export interface ProfileSpec {
  name: string;
  identity: Partial<DeviceIdentity>;
  behaviour: SpecBehaviour;
  content: ContentSpec;
}
