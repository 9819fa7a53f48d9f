/**
 * Info.plist: the host-written description of the device (backup-format.md §2). Written as XML by
 * iTunes and libimobiledevice, binary by some tools; both are read. Every key is optional to a
 * reader; a key present with the wrong type is a damaged file (BACKUP_CORRUPT).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isPlistDict, parsePlist, type PlistDict } from '../protocol/plist/index.js';
import { Fields, parseDictPlist, readPlistFile } from './plist-fields.js';

export const INFO_PLIST = 'Info.plist';

/** One `Applications` entry (user apps with their store data). */
export interface InfoApplication {
  applicationSinf?: Uint8Array;
  iTunesMetadata?: Uint8Array;
  /** PNG icon. */
  placeholderIcon?: Uint8Array;
  isDemotedApp?: boolean;
}

export interface BackupInfo {
  deviceName?: string;
  displayName?: string;
  /** Marketing name, e.g. "iPhone 4S" (iTunes writes it, libimobiledevice does not). */
  productName?: string;
  /** e.g. "iPhone9,3". */
  productType?: string;
  /** iOS version, e.g. "14.3". */
  productVersion?: string;
  /** e.g. "18C66". */
  buildVersion?: string;
  serialNumber?: string;
  /** UDID (upper- or lower-case depending on the writer; compare case-insensitively). */
  uniqueIdentifier?: string;
  /** UDID as given to the writer. */
  targetIdentifier?: string;
  /** Always "Device" in practice. */
  targetType?: string;
  lastBackupDate?: Date;
  /** Host GUID; 16 raw bytes (one writer's form) are turned into 32 upper-case hex digits. */
  guid?: string;
  imei?: string;
  /** Second IMEI, from "IMEI 2" or "IMEI2" (spelling differs between tools). */
  imei2?: string;
  meid?: string;
  phoneNumber?: string;
  iccid?: string;
  iTunesVersion?: string;
  /** Bundle IDs of all user apps. */
  installedApplications?: string[];
  applications?: Map<string, InfoApplication>;
  /** Lockdown domain com.apple.iTunes, kept as is. */
  iTunesSettings?: PlistDict;
  /** Files from the device's iTunes_Control folder, name → bytes. */
  iTunesFiles?: Map<string, Uint8Array>;
  iBooksData2?: Uint8Array;
  /** The whole parsed dict, for keys not listed here. */
  raw: PlistDict;
}

function hexUpper(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s.toUpperCase();
}

function app(f: Fields): InfoApplication {
  const out: InfoApplication = {};
  const sinf = f.data('ApplicationSINF');
  if (sinf !== undefined) out.applicationSinf = sinf;
  const meta = f.data('iTunesMetadata');
  if (meta !== undefined) out.iTunesMetadata = meta;
  const icon = f.data('PlaceholderIcon');
  if (icon !== undefined) out.placeholderIcon = icon;
  const demoted = f.bool('IsDemotedApp');
  if (demoted !== undefined) out.isDemotedApp = demoted;
  return out;
}

type StringField = {
  [K in keyof BackupInfo]-?: BackupInfo[K] extends string | undefined ? K : never;
}[keyof BackupInfo];

const STRING_KEYS: ReadonlyArray<readonly [string, StringField]> = [
  ['Device Name', 'deviceName'],
  ['Display Name', 'displayName'],
  ['Product Name', 'productName'],
  ['Product Type', 'productType'],
  ['Product Version', 'productVersion'],
  ['Build Version', 'buildVersion'],
  ['Serial Number', 'serialNumber'],
  ['Unique Identifier', 'uniqueIdentifier'],
  ['Target Identifier', 'targetIdentifier'],
  ['Target Type', 'targetType'],
  ['IMEI', 'imei'],
  ['MEID', 'meid'],
  ['ICCID', 'iccid'],
  ['iTunes Version', 'iTunesVersion'],
];

/** Parses Info.plist bytes (XML or binary). Throws BACKUP_CORRUPT on a damaged file. */
export function parseInfoPlist(bytes: Uint8Array): BackupInfo {
  const raw = parseDictPlist(bytes, INFO_PLIST);
  const f = new Fields(raw, INFO_PLIST);
  const info: BackupInfo = { raw };
  for (const [key, field] of STRING_KEYS) {
    const v = f.string(key);
    if (v !== undefined) info[field] = v;
  }
  const imei2 = f.string('IMEI 2') ?? f.string('IMEI2');
  if (imei2 !== undefined) info.imei2 = imei2;
  // Writers only store a phone number when it is a string; anything else is ignored.
  const phone = raw['Phone Number'];
  if (typeof phone === 'string') info.phoneNumber = phone;
  const guid = raw.GUID;
  if (guid instanceof Uint8Array) info.guid = hexUpper(guid);
  else {
    const g = f.string('GUID');
    if (g !== undefined) info.guid = g;
  }
  const date = f.date('Last Backup Date');
  if (date !== undefined) info.lastBackupDate = date;
  const installed = f.stringArray('Installed Applications');
  if (installed !== undefined) info.installedApplications = installed;
  const apps = f.dictOfDicts('Applications');
  if (apps !== undefined) info.applications = new Map([...apps].map(([id, a]) => [id, app(a)]));
  const settings = f.dict('iTunes Settings');
  if (settings !== undefined) info.iTunesSettings = settings;
  const files = f.dictOfData('iTunes Files');
  if (files !== undefined) info.iTunesFiles = files;
  const books = f.data('iBooks Data 2');
  if (books !== undefined) info.iBooksData2 = books;
  return info;
}

/** Reads `<dir>/Info.plist`. A missing file throws ENOENT; a damaged one BACKUP_CORRUPT. */
export async function readInfoPlist(dir: string): Promise<BackupInfo> {
  return parseInfoPlist(await readPlistFile(path.join(dir, INFO_PLIST), INFO_PLIST));
}

/**
 * The host GUID the last run wrote into `<dir>/Info.plist` (a string GUID only), so that a new run
 * keeps it; undefined when there is none. A missing file is no GUID; a damaged one throws.
 */
export async function previousHostGuid(dir: string): Promise<string | undefined> {
  const previous = await readFile(path.join(dir, INFO_PLIST)).then(
    (b) => parsePlist(b),
    () => undefined,
  );
  return isPlistDict(previous) && typeof previous.GUID === 'string' ? previous.GUID : undefined;
}
