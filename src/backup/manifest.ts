/**
 * Manifest.plist: the device-written summary of a backup (backup-format.md §3): encryption flag,
 * keybag, the wrapped Manifest.db key, a lockdown snapshot and the app list.
 */
import path from 'node:path';
import type { PlistDict } from '../protocol/plist/index.js';
import { Fields, parseDictPlist, readPlistFile } from './plist-fields.js';

export const MANIFEST_PLIST = 'Manifest.plist';

/** The lockdown values copied into Manifest.plist (the six strings readers rely on). */
export interface ManifestLockdown {
  buildVersion?: string;
  deviceName?: string;
  productType?: string;
  productVersion?: string;
  serialNumber?: string;
  uniqueDeviceId?: string;
  /** The whole dict, including the copied lockdown domains. */
  raw: PlistDict;
}

/** One `Applications` entry (apps, plug-ins and app groups). */
export interface ManifestApplication {
  bundleIdentifier?: string;
  bundleVersion?: string;
  /** "Data/Application", "Data/PluginKitPlugin" or "Shared/AppGroup". */
  containerContentClass?: string;
  path?: string;
}

export interface ManifestPlist {
  /** `IsEncrypted`; false when absent. */
  isEncrypted: boolean;
  /** `BackupKeyBag` TLV bytes (present in unencrypted backups too). */
  backupKeyBag?: Uint8Array;
  /** `ManifestKey`: LE u32 class ‖ 40-byte wrapped Manifest.db key (encrypted, iOS 10.2+). */
  manifestKey?: Uint8Array;
  /** Manifest format, e.g. "10.0" or "9.1". */
  version?: string;
  date?: Date;
  systemDomainsVersion?: string;
  wasPasscodeSet?: boolean;
  lockdown?: ManifestLockdown;
  applications?: Map<string, ManifestApplication>;
  raw: PlistDict;
}

const LOCKDOWN_KEYS = [
  ['BuildVersion', 'buildVersion'],
  ['DeviceName', 'deviceName'],
  ['ProductType', 'productType'],
  ['ProductVersion', 'productVersion'],
  ['SerialNumber', 'serialNumber'],
  ['UniqueDeviceID', 'uniqueDeviceId'],
] as const;

function lockdown(f: Fields): ManifestLockdown {
  const out: ManifestLockdown = { raw: f.raw };
  for (const [key, field] of LOCKDOWN_KEYS) {
    const v = f.string(key);
    if (v !== undefined) out[field] = v;
  }
  return out;
}

function application(f: Fields): ManifestApplication {
  const out: ManifestApplication = {};
  const id = f.string('CFBundleIdentifier');
  if (id !== undefined) out.bundleIdentifier = id;
  const version = f.string('CFBundleVersion');
  if (version !== undefined) out.bundleVersion = version;
  const cls = f.string('ContainerContentClass');
  if (cls !== undefined) out.containerContentClass = cls;
  const p = f.string('Path');
  if (p !== undefined) out.path = p;
  return out;
}

/** Parses Manifest.plist bytes. Throws BACKUP_CORRUPT on a damaged file. */
export function parseManifestPlist(bytes: Uint8Array): ManifestPlist {
  const raw = parseDictPlist(bytes, MANIFEST_PLIST);
  const f = new Fields(raw, MANIFEST_PLIST);
  const m: ManifestPlist = { isEncrypted: f.bool('IsEncrypted') ?? false, raw };
  const keybag = f.data('BackupKeyBag');
  if (keybag !== undefined) m.backupKeyBag = keybag;
  const manifestKey = f.data('ManifestKey');
  if (manifestKey !== undefined) m.manifestKey = manifestKey;
  const version = f.string('Version');
  if (version !== undefined) m.version = version;
  const date = f.date('Date');
  if (date !== undefined) m.date = date;
  const sdv = f.string('SystemDomainsVersion');
  if (sdv !== undefined) m.systemDomainsVersion = sdv;
  const passcode = f.bool('WasPasscodeSet');
  if (passcode !== undefined) m.wasPasscodeSet = passcode;
  const ld = f.fields('Lockdown');
  if (ld !== undefined) m.lockdown = lockdown(ld);
  const apps = f.dictOfDicts('Applications');
  if (apps !== undefined) m.applications = new Map([...apps].map(([id, a]) => [id, application(a)]));
  return m;
}

/**
 * Keys that restoring tools and readers need but this Manifest.plist lacks (backup-format.md §3):
 * IsEncrypted, Version, Date, WasPasscodeSet, Lockdown with its six strings, and when encrypted
 * BackupKeyBag and ManifestKey. Names are given as paths ("Lockdown.ProductVersion").
 */
export function missingManifestKeys(m: ManifestPlist): string[] {
  const missing: string[] = [];
  for (const key of ['IsEncrypted', 'Version', 'Date', 'WasPasscodeSet', 'Lockdown']) {
    if (m.raw[key] === undefined) missing.push(key);
  }
  if (m.lockdown !== undefined) {
    for (const [key, field] of LOCKDOWN_KEYS) if (m.lockdown[field] === undefined) missing.push(`Lockdown.${key}`);
  }
  if (m.isEncrypted) {
    if (m.backupKeyBag === undefined) missing.push('BackupKeyBag');
    if (m.manifestKey === undefined) missing.push('ManifestKey');
  }
  return missing;
}

/** Reads `<dir>/Manifest.plist`. A missing file throws ENOENT; a damaged one BACKUP_CORRUPT. */
export async function readManifestPlist(dir: string): Promise<ManifestPlist> {
  return parseManifestPlist(await readPlistFile(path.join(dir, MANIFEST_PLIST), MANIFEST_PLIST));
}
