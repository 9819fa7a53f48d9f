/**
 * Property lists the device holds: preferences (binary and XML, as iOS writes both), the Wi-Fi
 * list and the keychain backup (backup-format.md §6.10). Each is a function of (seed, version).
 */
import { serializeBinaryPlist, serializeXmlPlist } from '../../protocol/plist/index.js';
import { real, type PlistDict, type PlistValue } from '../../protocol/plist/types.js';
import { CONTENT_NOW } from './model.js';
import { rngFor, type Rng } from './random.js';

export interface PlistFile {
  domain: string;
  relativePath: string;
  format: 'binary' | 'xml';
  build: (rng: Rng, version: number) => PlistValue;
  mode?: number;
  uid?: number;
  encryptedOnly?: boolean;
  protectionClass?: number;
}

const date = (rng: Rng): Date => new Date((CONTENT_NOW - rng.int(0, 365 * 86_400)) * 1000);
const NETWORKS = ['Home', 'Office-5G', 'Café Lumière', 'Airport Free WiFi', 'Hotel Guest', 'Library'];

function keychainItems(rng: Rng, count: number, klass: (i: number) => number): PlistDict[] {
  return Array.from({ length: count }, (_, i) => {
    const header = new Uint8Array(12);
    const view = new DataView(header.buffer);
    view.setUint32(0, 3, true);
    view.setUint32(4, klass(i), true);
    view.setUint32(8, 40, true);
    const body = rng.bytes(40 + rng.int(120, 600) + 16);
    const vData = new Uint8Array(12 + body.length);
    vData.set(header, 0);
    vData.set(body, 12);
    return { v_Data: vData, v_PersistentRef: rng.bytes(12) };
  });
}

export const PLIST_FILES: readonly PlistFile[] = [
  {
    domain: 'HomeDomain',
    relativePath: 'Library/Preferences/.GlobalPreferences.plist',
    format: 'binary',
    build: (rng, v) => ({
      AppleLanguages: ['en-US', 'fr-FR'],
      AppleLocale: 'en_US',
      AppleICUForce24HourTime: rng.chance(0.5),
      AppleKeyboards: ['en_US@sw=QWERTY;hw=Automatic', 'emoji@sw=Emoji'],
      NSLinguisticDataAssetsRequested: ['en', 'fr'],
      AppleTemperatureUnit: 'Celsius',
      ChangeCount: v,
    }),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/Preferences/com.apple.springboard.plist',
    format: 'binary',
    build: (rng, v) => ({
      SBShowBatteryPercentage: rng.chance(0.5),
      SBAutoLockTime: real(rng.pick([30, 60, 120, 300])),
      SBSearchDisabledBundles: [],
      lastBootDate: date(rng),
      ChangeCount: v,
    }),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/Preferences/com.apple.Preferences.plist',
    format: 'xml',
    build: (rng, v) => ({ kKeyboardClickSoundsEnabled: rng.chance(0.3), ScreenTimeEnabled: true, ChangeCount: v }),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/Preferences/com.apple.mobilephone.plist',
    format: 'binary',
    mode: 0o600,
    build: (rng, v) => ({ DialerSavedNumber: `+3361${rng.int(1_000_000, 9_999_999)}`, ChangeCount: v }),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/Preferences/com.apple.MobileSMS.plist',
    format: 'binary',
    mode: 0o600,
    build: (rng, v) => ({ KeepMessageForDays: 0, ReadReceiptsEnabled: rng.chance(0.5), ChangeCount: v }),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/Preferences/com.apple.locationd.plist',
    format: 'xml',
    build: (rng, v) => ({
      LocationServicesEnabled: true,
      LastSystemVersion: '17.5.1',
      Seen: date(rng),
      ChangeCount: v,
    }),
  },
  {
    domain: 'RootDomain',
    relativePath: 'Library/Preferences/com.apple.MobileBackup.plist',
    format: 'binary',
    uid: 0,
    mode: 0o600,
    build: (rng, v) => ({
      LastBackupDate: date(rng),
      BackupStateInfo: { isCloud: false, date: date(rng) },
      ChangeCount: v,
    }),
  },
  {
    domain: 'SystemPreferencesDomain',
    relativePath: 'SystemConfiguration/preferences.plist',
    format: 'xml',
    uid: 0,
    build: (rng, v) => ({
      System: { System: { ComputerName: 'iPhone', HostName: `iPhone-${rng.int(10, 99)}` } },
      ChangeCount: v,
    }),
  },
  {
    domain: 'SystemPreferencesDomain',
    relativePath: 'com.apple.wifi.known-networks.plist',
    format: 'binary',
    uid: 0,
    mode: 0o600,
    build: (rng, v) =>
      Object.fromEntries(
        NETWORKS.slice(0, 3 + (v % 3)).map((ssid) => [
          `wifi.network.ssid.${ssid}`,
          {
            SSID: new TextEncoder().encode(ssid),
            SupportedSecurityTypes: 'WPA2 Personal',
            AddedAt: date(rng),
            JoinedBySystemAt: date(rng),
          },
        ]),
      ),
  },
  {
    domain: 'SystemPreferencesDomain',
    relativePath: 'SystemConfiguration/com.apple.wifi.plist',
    format: 'binary',
    uid: 0,
    build: (_rng, v) => ({ AllowEnable: 1, 'Custom network settings': {}, Version: 2200, ChangeCount: v }),
  },
  {
    domain: 'ManagedPreferencesDomain',
    relativePath: 'mobile/com.apple.webcontentfilter.plist',
    format: 'xml',
    uid: 0,
    build: (_rng, v) => ({ restrictWeb: false, useContentFilterOverrides: true, ChangeCount: v }),
  },
  {
    domain: 'WirelessDomain',
    relativePath: 'Library/Preferences/com.apple.commcenter.plist',
    format: 'binary',
    uid: 25,
    build: (rng, v) => ({
      DataRoamingEnabled: rng.chance(0.2),
      PhoneNumber: `+3361${rng.int(1_000_000, 9_999_999)}`,
      ChangeCount: v,
    }),
  },
  {
    domain: 'DatabaseDomain',
    relativePath: 'com.apple.xpc.launchd/disabled.plist',
    format: 'xml',
    uid: 0,
    build: (_rng, v) => ({ 'com.apple.ftp-proxy': true, 'com.apple.mdmclient.daemon.runatboot': true, ChangeCount: v }),
  },
  {
    domain: 'InstallDomain',
    relativePath: 'Library/MobileInstallation/BackedUpState/SystemAppInstallState.plist',
    format: 'binary',
    uid: 0,
    build: (_rng, v) => ({ 'com.apple.Maps': true, 'com.apple.news': false, 'com.apple.stocks': true, ChangeCount: v }),
  },
  {
    domain: 'KeychainDomain',
    relativePath: 'keychain-backup.plist',
    format: 'binary',
    uid: 0,
    mode: 0o600,
    encryptedOnly: true,
    protectionClass: 1,
    build: (rng) => ({
      genp: keychainItems(rng, 12, (i) => 6 + (i % 6)),
      inet: keychainItems(rng, 6, (i) => 6 + (i % 3)),
      cert: keychainItems(rng, 2, () => 11),
      keys: keychainItems(rng, 4, (i) => (i % 2 === 0 ? 7 : 10)),
    }),
  },
];

/** An app's own preferences file. */
export function appPreferences(bundleId: string): PlistFile {
  return {
    domain: `AppDomain-${bundleId}`,
    relativePath: `Library/Preferences/${bundleId}.plist`,
    format: 'binary',
    build: (rng, v) => ({
      FirstLaunchDate: date(rng),
      LaunchCount: rng.int(1, 5000),
      OnboardingComplete: true,
      LastVersion: `${rng.int(1, 30)}.${rng.int(0, 9)}`,
      ChangeCount: v,
    }),
  };
}

export function renderPlist(seed: number, file: PlistFile, version: number): Uint8Array {
  const value = file.build(rngFor(seed, 'plist', file.domain, file.relativePath, version), version);
  return file.format === 'binary' ? serializeBinaryPlist(value) : serializeXmlPlist(value);
}
