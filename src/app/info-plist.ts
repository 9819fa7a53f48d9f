/**
 * Info.plist, which the computer writes before each backup (backup-format.md §2): the device's
 * identity from lockdown, its user apps from installation_proxy, and the iTunes files on its
 * media partition.
 */
import { randomBytes } from 'node:crypto';
import type { PlistDict, PlistValue } from '../protocol/plist/index.js';
import { modelName } from '../host/models.js';

export const ITUNES_FILES = [
  'ApertureAlbumPrefs',
  'IC-Info.sidb',
  'IC-Info.sidv',
  'PhotosFolderAlbums',
  'PhotosFolderName',
  'PhotosFolderPrefs',
  'VoiceMemos.plist',
  'iPhotoAlbumPrefs',
  'iTunesApplicationIDs',
  'iTunesPrefs',
  'iTunesPrefs.plist',
] as const;

export interface InfoPlistInput {
  udid: string;
  /** Lockdown root domain values. */
  root: PlistDict;
  itunesSettings: PlistDict;
  minItunesVersion: string | null;
  /** installation_proxy records (CFBundleIdentifier, ApplicationSINF, iTunesMetadata). */
  apps: PlistDict[];
  /** bundle id → PNG, when springboard gave one. */
  icons: Map<string, Uint8Array>;
  itunesFiles: Map<string, Uint8Array>;
  iBooksData: Uint8Array | null;
  date: Date;
  /** The host's GUID (32 upper-case hex digits); a new one when absent. */
  guid?: string;
}

export function newGuid(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

const str = (v: PlistValue | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function buildInfoPlist(i: InfoPlistInput): PlistDict {
  const r = i.root;
  const name = str(r.DeviceName) ?? 'iPhone';
  const productType = str(r.ProductType) ?? '';
  const applications: PlistDict = {};
  const installed: string[] = [];
  for (const a of i.apps) {
    const id = str(a.CFBundleIdentifier);
    if (!id) continue;
    installed.push(id);
    if (a.ApplicationSINF instanceof Uint8Array && a.iTunesMetadata instanceof Uint8Array) {
      applications[id] = {
        ApplicationSINF: a.ApplicationSINF,
        iTunesMetadata: a.iTunesMetadata,
        PlaceholderIcon: i.icons.get(id) ?? new Uint8Array(0),
      };
    }
  }
  const out: PlistDict = {
    Applications: applications,
    'Build Version': str(r.BuildVersion) ?? '',
    'Device Name': name,
    'Display Name': name,
    GUID: i.guid ?? newGuid(),
    'Installed Applications': installed,
    'Last Backup Date': i.date,
    'Product Name': modelName(productType),
    'Product Type': productType,
    'Product Version': str(r.ProductVersion) ?? '',
    'Serial Number': str(r.SerialNumber) ?? '',
    'Target Identifier': i.udid,
    'Target Type': 'Device',
    'Unique Identifier': i.udid.toUpperCase(),
    'iTunes Settings': i.itunesSettings,
    'iTunes Version': i.minItunesVersion ?? '10.0.1',
  };
  const optional: [string, string][] = [
    ['ICCID', 'IntegratedCircuitCardIdentity'],
    ['IMEI', 'InternationalMobileEquipmentIdentity'],
    ['MEID', 'MobileEquipmentIdentifier'],
    ['Phone Number', 'PhoneNumber'],
  ];
  for (const [key, from] of optional) {
    const v = str(r[from]);
    if (v) out[key] = v;
  }
  if (i.itunesFiles.size > 0) out['iTunes Files'] = Object.fromEntries(i.itunesFiles);
  if (i.iBooksData) out['iBooks Data 2'] = i.iBooksData;
  return out;
}
