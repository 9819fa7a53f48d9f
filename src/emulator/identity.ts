/**
 * The virtual iPhone's lockdown values: every domain and key `ideviceinfo` shows for a real
 * iPhone, built from a resolved profile and the device's public key.
 */
import { createPublicKey } from 'node:crypto';
import { real, type PlistDict, type PlistValue } from '../protocol/plist/types.js';
import { seededBytes } from './ids.js';
import type { LockdownDomain, LockdownStore } from './lockdown-values.js';
import type { DeviceIdentity, DeviceProfile } from './profile-types.js';

export * from './lockdown-values.js';

export interface BuildDomainsOptions {
  /** Clock in milliseconds since 1970 (TimeIntervalSince1970, TimeZoneOffsetFromUTC). */
  now?: () => number;
  /** Whether a backup password is set (com.apple.mobile.backup WillEncrypt); default false. */
  willEncrypt?: () => boolean;
  /** DeviceName saved at run time (DeviceState settings), replacing the profile's. */
  deviceName?: string | null;
}

const textEncoder = new TextEncoder();

/** The key as PKCS#1 PEM text ("-----BEGIN RSA PUBLIC KEY-----"), whatever PEM it came as. */
export function toPkcs1PublicPem(pem: string | Uint8Array): string {
  const text = typeof pem === 'string' ? pem : new TextDecoder().decode(pem);
  if (text.includes('-----BEGIN RSA PUBLIC KEY-----')) return text.endsWith('\n') ? text : `${text}\n`;
  return createPublicKey(text).export({ type: 'pkcs1', format: 'pem' }).toString();
}

/** Seconds east of UTC of a time zone at an instant (0 if the zone is unknown). */
export function utcOffsetSeconds(timeZone: string, ms: number): number {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(
      new Date(ms),
    );
    const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
    if (m === null) return 0;
    return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60);
  } catch {
    return 0;
  }
}

function seeded(id: DeviceIdentity, label: string, n: number): Uint8Array {
  return seededBytes(0, 0, `${id.udid}:${label}`, n);
}

function seededUint(id: DeviceIdentity, label: string, bytes: number): number {
  let v = 0;
  for (const b of seeded(id, label, bytes)) v = v * 256 + b;
  return v;
}

function seededUuid(id: DeviceIdentity, label: string): string {
  const h = Array.from(seeded(id, label, 16), (b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-A${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The root domain: the device's identity and state, then what its iOS version and SIM add. */
function rootDomain(profile: DeviceProfile, publicKeyPem: string, now: () => number): LockdownDomain {
  const id = profile.identity;
  const root = rootTable(id, publicKeyPem, now);
  const major = Number(id.productVersion.split('.')[0]);
  if (major >= 15) root['HumanReadableProductVersionString'] = id.productVersion;
  if (id.phoneNumber !== '') addSimValues(root, id);
  return root;
}

// eslint-disable-next-line max-lines-per-function -- a table: the root domain's keys as an iPhone answers them
function rootTable(id: DeviceIdentity, publicKeyPem: string, now: () => number): LockdownDomain {
  const hasSim = id.phoneNumber !== '';
  return {
    ActivationState: 'Activated',
    ActivationStateAcknowledged: true,
    BasebandActivationTicketVersion: 'V2',
    BasebandCertId: seededUint(id, 'bbcert', 3),
    BasebandChipID: seededUint(id, 'bbchip', 3),
    BasebandKeyHashInformation: { AKeyStatus: 2, SKeyHash: seeded(id, 'skeyhash', 32), SKeyStatus: 0 },
    BasebandMasterKeyHash: Array.from(seeded(id, 'bbmaster', 20), (b) => b.toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase(),
    BasebandRegionSKU: seeded(id, 'bbsku', 4),
    BasebandSerialNumber: seeded(id, 'bbserial', 4),
    BasebandStatus: 'BBInfoAvailable',
    BasebandVersion: id.basebandVersion,
    BluetoothAddress: id.bluetoothAddress,
    BoardId: id.boardId,
    BootSessionID: seededUuid(id, 'bootsession'),
    BrickState: false,
    BuildVersion: id.buildVersion,
    CPUArchitecture: id.cpuArchitecture,
    CertID: seededUint(id, 'certid', 4),
    ChipID: id.chipId,
    ChipSerialNo: seeded(id, 'chipserial', 4),
    DeviceClass: 'iPhone',
    DeviceColor: id.deviceColor,
    DeviceName: id.deviceName,
    DevicePublicKey: textEncoder.encode(publicKeyPem),
    DieID: seededUint(id, 'dieid', 6),
    EthernetAddress: id.ethernetAddress,
    FirmwareVersion: id.firmwareVersion,
    FusingStatus: 3,
    HardwareModel: id.hardwareModel,
    HardwarePlatform: id.hardwarePlatform,
    HasSiDP: true,
    HostAttached: true,
    InternationalMobileEquipmentIdentity: id.imei,
    MLBSerialNumber: id.mlbSerialNumber,
    MobileEquipmentIdentifier: id.meid,
    ModelNumber: id.modelNumber,
    NonVolatileRAM: {
      'auto-boot': textEncoder.encode('true'),
      'backlight-level': textEncoder.encode('1527'),
      'boot-args': new Uint8Array(0),
    },
    PairRecordProtectionClass: 4,
    PartitionType: 'GUID_partition_scheme',
    PasswordProtected: id.passcodeSet,
    PkHash: seeded(id, 'pkhash', 32),
    ProductName: 'iPhone OS',
    ProductType: id.productType,
    ProductVersion: id.productVersion,
    ProductionSOC: true,
    ProtocolVersion: '2',
    RegionInfo: id.regionInfo,
    SIMStatus: hasSim ? 'kCTSIMSupportSIMStatusReady' : 'kCTSIMSupportSIMStatusNotInserted',
    SIMTrayStatus: hasSim ? 'kCTSIMSupportSIMTrayInsertedSIM' : 'kCTSIMSupportSIMTrayNotInserted',
    SerialNumber: id.serialNumber,
    SoftwareBehavior: seeded(id, 'behavior', 16),
    SupportedDeviceFamilies: [1],
    TelephonyCapability: true,
    TimeIntervalSince1970: () => real(now() / 1000),
    TimeZone: id.timeZone,
    TimeZoneOffsetFromUTC: () => real(utcOffsetSeconds(id.timeZone, now())),
    TrustedHostAttached: true,
    UniqueChipID: id.uniqueChipId,
    UniqueDeviceID: id.udid,
    UseRaptorCerts: id.cpuArchitecture === 'arm64e',
    Uses24HourClock: id.uses24HourClock,
    WiFiAddress: id.wifiAddress,
    WirelessBoardSerialNumber: Array.from(seeded(id, 'wireless', 6), (b) => b.toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase(),
  };
}

/** The carrier's values of a phone with a SIM. */
function addSimValues(root: LockdownDomain, id: DeviceIdentity): void {
  const imsi = `310260${id.iccid.slice(7, 16)}`;
  root['PhoneNumber'] = id.phoneNumber;
  root['IntegratedCircuitCardIdentity'] = id.iccid;
  root['InternationalMobileSubscriberIdentity'] = imsi;
  root['MobileSubscriberCountryCode'] = '310';
  root['MobileSubscriberNetworkCode'] = '260';
  root['CarrierBundleInfoArray'] = [
    {
      CFBundleIdentifier: 'com.apple.TMobile_US',
      CFBundleVersion: '56.0',
      IntegratedCircuitCardIdentity: id.iccid,
      InternationalMobileSubscriberIdentity: imsi,
      MCC: '310',
      MNC: '260',
      SIMGID1: new Uint8Array(0),
      SIMGID2: new Uint8Array(0),
      Slot: 'kOne',
    },
  ];
}

/** com.apple.disk_usage and its factory twin, consistent with capacity and used space. */
function diskUsage(profile: DeviceProfile): { current: PlistDict; factory: PlistDict } {
  const id = profile.identity;
  const total = id.totalCapacityBytes;
  const systemCapacity = Math.min(Math.floor(total / 8), 9_000_000_000, id.usedBytes);
  const dataCapacity = total - systemCapacity;
  const dataAvailable = Math.max(0, Math.min(dataCapacity, total - id.usedBytes));
  const reserved = Math.min(200_000_000, dataAvailable);
  const content = profile.content.bytes + profile.content.hugeFiles.reduce((a, b) => a + b, 0);
  const share = (part: number): number => Math.floor(content * part);
  const current: PlistDict = {
    AmountDataAvailable: dataAvailable - reserved,
    AmountDataReserved: reserved,
    CalendarUsage: share(0.002),
    CameraUsage: share(0.55),
    MediaCacheUsage: share(0.01),
    NotesUsage: share(0.003),
    PhotoUsage: share(0.25),
    TotalDataAvailable: dataAvailable,
    TotalDataCapacity: dataCapacity,
    TotalDiskCapacity: total,
    TotalSystemAvailable: Math.min(600_000_000, Math.floor(systemCapacity / 10)),
    TotalSystemCapacity: systemCapacity,
    VoicemailUsage: share(0.001),
    WebAppCacheUsage: share(0.005),
  };
  const factoryAvailable = Math.max(0, dataCapacity - 2_000_000_000);
  const factory: PlistDict = {
    AmountDataAvailable: factoryAvailable - Math.min(200_000_000, factoryAvailable),
    AmountDataReserved: Math.min(200_000_000, factoryAvailable),
    TotalDataAvailable: factoryAvailable,
    TotalDataCapacity: dataCapacity,
    TotalDiskCapacity: total,
    TotalSystemAvailable: Math.min(600_000_000, Math.floor(systemCapacity / 10)),
    TotalSystemCapacity: systemCapacity,
  };
  return { current, factory };
}

const DATA_CLASSES = [
  'com.apple.Bookmarks',
  'com.apple.Calendars',
  'com.apple.Contacts',
  'com.apple.Notes',
  'com.apple.mail.Accounts',
];

/**
 * Every lockdown domain of the device ('' = root). Values that change while it runs
 * (the clock, WillEncrypt) are functions evaluated on each read.
 */
export function buildDomains(
  profile: DeviceProfile,
  devicePublicKeyPem: string | Uint8Array,
  options: BuildDomainsOptions = {},
): LockdownStore {
  const now = options.now ?? Date.now;
  const willEncrypt = options.willEncrypt ?? (() => false);
  const named = options.deviceName ?? null;
  if (named !== null) profile = { ...profile, identity: { ...profile.identity, deviceName: named } };
  return new Map([
    ...profileDomains(profile, toPkcs1PublicPem(devicePublicKeyPem), now, willEncrypt),
    ...fixedDomains(),
  ]);
}

/** The root domain and the domains after it: most follow the profile (disk usage, battery, languages) or the device's state (WillEncrypt). */
function profileDomains(
  profile: DeviceProfile,
  publicKeyPem: string,
  now: () => number,
  willEncrypt: () => boolean,
): [string, LockdownDomain][] {
  const id = profile.identity;
  const disk = diskUsage(profile);
  return [
    ['', rootDomain(profile, publicKeyPem, now)],
    [
      'com.apple.mobile.backup',
      { CloudBackupEnabled: false, RequiresEncryption: false, Version: '2.0', WillEncrypt: () => willEncrypt() },
    ],
    [
      'com.apple.mobile.iTunes',
      {
        DBVersion: 5,
        MinITunesVersion: '10.0.1',
        MinMacOSVersion: '10.15.0',
        SyncDataClasses: ['Contacts', 'Calendars', 'Bookmarks', 'Mail Accounts', 'Notes'],
        SupportsAirTraffic: true,
      },
    ],
    ['com.apple.iTunes', { LibraryApplications: [], SyncedApplications: [] }],
    ['com.apple.disk_usage', disk.current],
    ['com.apple.disk_usage.factory', disk.factory],
    [
      'com.apple.mobile.battery',
      {
        BatteryCurrentCapacity: id.batteryLevel,
        BatteryIsCharging: id.batteryCharging,
        ExternalChargeCapable: true,
        ExternalConnected: true,
        FullyCharged: id.batteryLevel >= 100,
        GasGaugeCapability: true,
        HasBattery: true,
      },
    ],
    [
      'com.apple.international',
      {
        Keyboard: id.locale,
        Language: id.language,
        Locale: id.locale,
        SupportedKeyboards: [id.locale, 'emoji'],
        SupportedLanguages: [id.language, 'en', 'fr', 'de', 'es', 'ja', 'zh-Hans'].filter(
          (l, i, a) => a.indexOf(l) === i,
        ),
        SupportedLocales: [id.locale, 'en_US', 'en_GB', 'fr_FR', 'de_DE'].filter((l, i, a) => a.indexOf(l) === i),
      },
    ],
  ];
}

/** The domains every device answers alike (fresh objects per device: SetValue may change them). */
function fixedDomains(): [string, LockdownDomain][] {
  return [
    [
      'com.apple.mobile.wireless_lockdown',
      { EnableWifiConnections: false, EnableWifiDebugging: false, SupportsWifi: true, SupportsWifiSyncing: true },
    ],
    [
      'com.apple.mobile.data_sync',
      Object.fromEntries(
        ['Bookmarks', 'Calendars', 'Contacts', 'Notes'].map((c): [string, PlistValue] => [c, { AccountNames: [] }]),
      ),
    ],
    ['com.apple.mobile.sync_data_class', Object.fromEntries(DATA_CLASSES.map((c): [string, PlistValue] => [c, {}]))],
    ['com.apple.PurpleBuddy', { SetupDone: true, SetupFinishedAllSteps: true, SetupState: 'SetupUsingAssistant' }],
    ['com.apple.purplebuddy', {}],
    ['com.apple.mobile.restriction', { ProhibitAppInstall: false }],
    ['com.apple.mobile.user_preferences', { DiagnosticsAllowed: false }],
    ['com.apple.xcode.developerdomain', { DeveloperStatus: 'Disabled' }],
    ['com.apple.mobile.internal', { IsInternal: false }],
    ['com.apple.mobile.lockdownd', { LogToDisk: false }],
    ['com.apple.mobile.chaperone', {}],
    ['com.apple.mobile.third_party_termination', {}],
    ['com.apple.mobile.lockdown_cache', {}],
    ['com.apple.mobile.tethered_sync', {}],
    ['com.apple.mobile.mobile_application_usage', {}],
    ['com.apple.mobile.nikita', {}],
    ['com.apple.mobile.software_behavior', { Valid: false }],
    ['com.apple.mobile.iTunes.SQLMusicLibraryPostProcessCommands', {}],
    ['com.apple.mobile.iTunes.accessories', {}],
    ['com.apple.mobile.iTunes.store', {}],
    ['com.apple.fairplay', {}],
    ['com.apple.iqagent', {}],
  ];
}
