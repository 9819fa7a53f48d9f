/**
 * What lives where: the domains of backup-format.md §5.5 with their owners, the notable files of
 * §5.6, the apps, and the "slots" that bulk files are spread over.
 */
import { addressBookDb, addressBookImagesDb, callHistoryDb } from './contacts-db.js';
import { calendarDb, legacyNotesDb, type DatabaseSizes } from './databases.js';
import { chatStorageDb, dataUsageDb, healthDb, homeKitDb, safariHistoryDb } from './databases-more.js';
import type { PhotosDbFiles } from './photos-db.js';
import { serializeBinaryPlist } from '../../protocol/plist/index.js';
import { UID_MOBILE, UID_ROOT, UID_WIRELESS } from './model.js';
import { paragraph } from './people.js';
import { rngFor, type Rng } from './random.js';
import { noteStoreDb } from './notes-db.js';
import { smsDb } from './sms-db.js';
import { voicemailDb } from './voicemail-db.js';

/** Apps with a container (AppDomain-…), their group and plug-in containers. */
export const APPS: readonly { bundleId: string; group?: string; plugin?: string }[] = [
  { bundleId: 'com.apple.mobilesafari' },
  {
    bundleId: 'net.whatsapp.WhatsApp',
    group: 'group.net.whatsapp.WhatsApp.shared',
    plugin: 'net.whatsapp.WhatsApp.ShareExtension',
  },
  { bundleId: 'com.spotify.client', plugin: 'com.spotify.client.WidgetExtension' },
  { bundleId: 'com.burbn.instagram', plugin: 'com.burbn.instagram.NotificationService' },
  { bundleId: 'com.google.Maps' },
];

export const FILES_GROUP = 'AppDomainGroup-group.com.apple.FileProvider.LocalStorage';
export const NOTES_GROUP = 'AppDomainGroup-group.com.apple.notes';

/** Owner (uid = gid) of a domain's files. */
export function ownerOf(domain: string): number {
  switch (domain) {
    case 'RootDomain':
    case 'SystemPreferencesDomain':
    case 'ManagedPreferencesDomain':
    case 'DatabaseDomain':
    case 'KeychainDomain':
    case 'InstallDomain':
      return UID_ROOT;
    case 'WirelessDomain':
      return UID_WIRELESS;
    default:
      return UID_MOBILE;
  }
}

/** A plausible data-protection class for a file (mostly 3 and 4, as on real phones). */
export function fileProtectionClass(domain: string, rng: Rng): number {
  if (domain === 'HealthDomain' || domain === 'KeychainDomain') return 1;
  const r = rng.float();
  if (r < 0.68) return 3;
  if (r < 0.95) return 4;
  return r < 0.98 ? 1 : 2;
}

/** What generated databases depend on besides the seed. */
export interface BlobContext {
  seed: number;
  sizes: DatabaseSizes;
  /** The iOS major version the databases are laid out for. */
  major: number;
  /** Photos.sqlite and its -wal at a version (both files change together). */
  photosDb(version: number): PhotosDbFiles;
}

/** A small file whose bytes are built in memory: databases and text documents. */
export interface BlobFile {
  domain: string;
  relativePath: string;
  build: (ctx: BlobContext, version: number) => Uint8Array;
  /** Whether "modify N files" may pick it (databases change through photos and messages only). */
  modifiable: boolean;
  mode?: number;
  encryptedOnly?: boolean;
  xattrs?: Record<string, Uint8Array>;
}

export const SMS_DB = { domain: 'HomeDomain', relativePath: 'Library/SMS/sms.db' };
/** The FileProvider database of iOS 17+ that a backup cannot read to its end (mobilebackup2/unreadable.ts). */
export const FILEPROVIDER_BACKUP_DB = {
  domain: 'HomeDomain',
  relativePath: 'Library/Application Support/FileProvider/backup/backup_manifest.db',
};
export const PHOTOS_DB = { domain: 'CameraRollDomain', relativePath: 'Media/PhotoData/Photos.sqlite' };
export const PHOTOS_WAL = { domain: 'CameraRollDomain', relativePath: 'Media/PhotoData/Photos.sqlite-wal' };

const TEXT_ENCODING = { 'com.apple.TextEncoding': new TextEncoder().encode('utf-8;134217984') };

function text(seed: number, path: string, version: number): Uint8Array {
  const rng = rngFor(seed, 'text', path, version);
  return new TextEncoder().encode(
    `${Array.from({ length: rng.int(2, 12) }, () => paragraph(rng, rng.int(2, 6))).join('\n\n')}\n`,
  );
}

function textFile(domain: string, relativePath: string): BlobFile {
  const path = relativePath.normalize('NFC');
  return {
    domain,
    relativePath: path,
    modifiable: true,
    xattrs: TEXT_ENCODING,
    build: (ctx, v) => text(ctx.seed, path, v),
  };
}

export const BLOB_FILES: readonly BlobFile[] = [
  { ...SMS_DB, modifiable: false, build: (c) => smsDb(c.seed, c.sizes, c.major) },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/AddressBook/AddressBook.sqlitedb',
    modifiable: false,
    build: (c) => addressBookDb(c.seed, c.sizes),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/AddressBook/AddressBookImages.sqlitedb',
    modifiable: false,
    build: (c) => addressBookImagesDb(c.seed, c.sizes),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/Voicemail/voicemail.db',
    modifiable: false,
    build: (c) => voicemailDb(c.seed, c.sizes, c.major),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/CallHistoryDB/CallHistory.storedata',
    modifiable: false,
    build: (c) => callHistoryDb(c.seed, c.sizes, c.major),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/Notes/notes.sqlite',
    modifiable: false,
    build: (c) => legacyNotesDb(c.seed, c.sizes),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/Calendar/Calendar.sqlitedb',
    modifiable: false,
    build: (c) => calendarDb(c.seed, c.sizes),
  },
  {
    domain: 'HomeDomain',
    relativePath: 'Library/Safari/History.db',
    modifiable: false,
    build: (c) => safariHistoryDb(c.seed, c.sizes.notes * 5),
  },
  {
    domain: NOTES_GROUP,
    relativePath: 'NoteStore.sqlite',
    modifiable: false,
    build: (c) => noteStoreDb(c.seed, c.sizes, c.major),
  },
  { ...PHOTOS_DB, modifiable: false, build: (c, v) => c.photosDb(v).db },
  { ...PHOTOS_WAL, modifiable: false, build: (c, v) => c.photosDb(v).wal },
  {
    domain: 'HealthDomain',
    relativePath: 'Health/healthdb.sqlite',
    modifiable: false,
    encryptedOnly: true,
    mode: 0o600,
    build: (c) => healthDb(c.seed, c.sizes.calls, false),
  },
  {
    domain: 'HealthDomain',
    relativePath: 'Health/healthdb_secure.sqlite',
    modifiable: false,
    encryptedOnly: true,
    mode: 0o600,
    build: (c) => healthDb(c.seed, 0, true),
  },
  {
    domain: 'HomeKitDomain',
    relativePath: 'Library/homed/datastore3.sqlite',
    modifiable: false,
    build: (c) => homeKitDb(c.seed),
  },
  {
    domain: 'WirelessDomain',
    relativePath: 'Library/Databases/DataUsage.sqlite',
    modifiable: false,
    build: (c) =>
      dataUsageDb(
        c.seed,
        APPS.map((a) => a.bundleId),
      ),
  },
  {
    domain: 'AppDomainGroup-group.net.whatsapp.WhatsApp.shared',
    relativePath: 'ChatStorage.sqlite',
    modifiable: false,
    build: (c) => chatStorageDb(c.seed, c.sizes.messages / 4),
  },
  textFile(FILES_GROUP, 'File Provider Storage/Café – 日本.txt'),
  textFile(FILES_GROUP, 'File Provider Storage/📷 Trip notes 🏖️.txt'),
  textFile(FILES_GROUP, 'File Provider Storage/Über/Größe und Maße.txt'),
  textFile(FILES_GROUP, 'File Provider Storage/Ελληνικά/Σημειώσεις.txt'),
  textFile('AppDomain-com.apple.mobilesafari', 'Documents/Reading List.txt'),
  textFile('HomeDomain', 'Library/Keyboard/dynamic-text.dat'),
];

/** Files with no bytes at all. */
export const EMPTY_FILES: readonly { domain: string; relativePath: string }[] = [
  { domain: 'HomeDomain', relativePath: 'Library/AddressBook/AddressBook.sqlitedb-wal' },
  { domain: 'AppDomain-com.spotify.client', relativePath: 'Documents/.keep' },
  { domain: 'TonesDomain', relativePath: 'Media/iTunes_Control/Ringtones/.empty' },
];

/** Noise files of fixed size with a real-looking name (size 0 here means "chosen from the seed"). */
export const NAMED_FILES: readonly { domain: string; relativePath: string; xattrs?: Record<string, Uint8Array> }[] = [
  { domain: 'HomeDomain', relativePath: 'Library/Cookies/Cookies.binarycookies' },
  { domain: 'HomeDomain', relativePath: 'Library/Voicemail/1.amr' },
  FILEPROVIDER_BACKUP_DB,
  { domain: 'MediaDomain', relativePath: 'Media/Recordings/20240512 101530.m4a' },
  { domain: 'TonesDomain', relativePath: 'Media/iTunes_Control/Ringtones/Marimba Remix.m4r' },
  {
    domain: FILES_GROUP,
    relativePath: 'File Provider Storage/Résumé.pdf'.normalize('NFC'),
    xattrs: {
      'com.apple.metadata:kMDItemWhereFroms': serializeBinaryPlist([
        'https://www.example.com/cv/resume.pdf',
        'https://www.example.com/',
      ]),
    },
  },
];

/** Symbolic links: [domain, path, target]. `<UUID>` is replaced by a seeded container id. */
export const SYMLINKS: readonly [string, string, string][] = [
  ['DatabaseDomain', 'timezone/localtime', '/usr/share/zoneinfo/Europe/Paris'],
  ['HomeDomain', 'Library/Logs/CrashReporter/DiagnosticLogs', '/private/var/mobile/Library/Logs/DiagnosticReports'],
  [
    'AppDomain-com.google.Maps',
    'Library/WebKit/WebsiteData/IndexedDB',
    '/private/var/mobile/Containers/Data/Application/<UUID>/Library/WebKit/WebsiteData/IndexedDB-v1',
  ],
];

/** Directories that exist even when empty. */
export const EXTRA_DIRECTORIES: readonly [string, string][] = [
  ['HomeDomain', 'Documents'],
  ['HomeDomain', 'Library/Accounts'],
  ['MobileDeviceDomain', 'ProvisioningProfiles'],
  ...APPS.flatMap((a): [string, string][] => [
    [`AppDomain-${a.bundleId}`, 'Documents'],
    [`AppDomain-${a.bundleId}`, 'Library/Caches'],
  ]),
];

/** Where bulk files go: share of the count and of the bytes, and how a name is made. */
export interface FillerSlot {
  domain: string;
  countShare: number;
  byteShare: number;
  path: (i: number, rng: Rng) => string;
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
const bucket = (i: number): string => hex(Math.floor(i / 100), 2).toUpperCase();

export const FILLER_SLOTS: readonly FillerSlot[] = [
  {
    domain: 'AppDomain-com.spotify.client',
    countShare: 0.25,
    byteShare: 0.3,
    path: (i, r) => `Library/Caches/com.spotify.client/Storage/${bucket(i)}/${hex(r.next(), 8)}${hex(i, 6)}.file`,
  },
  {
    domain: 'AppDomain-com.burbn.instagram',
    countShare: 0.2,
    byteShare: 0.1,
    path: (i, r) => `Library/Caches/Images/${bucket(i)}/${hex(r.next(), 8)}-${i}.cache`,
  },
  {
    domain: 'AppDomainPlugin-com.burbn.instagram.NotificationService',
    countShare: 0.05,
    byteShare: 0.005,
    path: (i) => `Library/Caches/Attachments/${bucket(i)}/${i}.dat`,
  },
  {
    domain: 'AppDomainPlugin-com.spotify.client.WidgetExtension',
    countShare: 0.05,
    byteShare: 0.005,
    path: (i) => `Library/Caches/Artwork/${bucket(i)}/art-${i}.bin`,
  },
  {
    domain: 'AppDomainGroup-group.net.whatsapp.WhatsApp.shared',
    countShare: 0.08,
    byteShare: 0.2,
    path: (i, r) => `Message/Media/${bucket(i)}/${r.uuid()}.mp4`,
  },
  {
    domain: 'HomeDomain',
    countShare: 0.15,
    byteShare: 0.04,
    path: (i, r) => `Library/Caches/com.apple.nsurlsessiond/fsCachedData/${bucket(i)}/${r.uuid()}`,
  },
  {
    domain: 'MediaDomain',
    countShare: 0.1,
    byteShare: 0.15,
    path: (i, r) =>
      `Library/SMS/Attachments/${bucket(i)}/${hex(i % 256, 2)}/${r.uuid()}/IMG_${String(i % 10_000).padStart(4, '0')}.heic`,
  },
  {
    domain: 'MediaDomain',
    countShare: 0.02,
    byteShare: 0.1,
    path: (i) =>
      `Media/Recordings/${bucket(i)}/2024${String(1 + (i % 12)).padStart(2, '0')}${String(1 + (i % 28)).padStart(2, '0')} ${i}.m4a`,
  },
  {
    domain: 'AppDomain-com.google.Maps',
    countShare: 0.1,
    byteShare: 0.1,
    path: (i) => `Library/Application Support/Tiles/${bucket(i)}/tile-${i}.vmp4`,
  },
];

/** Database row counts for a profile of `files` files. */
export function databaseSizes(files: number): DatabaseSizes {
  const scale = Math.max(1, files / 100);
  return {
    contacts: Math.min(2000, Math.round(20 * Math.sqrt(scale))),
    messages: Math.min(20_000, Math.round(50 * Math.sqrt(scale) * 2)),
    calls: Math.min(5000, Math.round(30 * Math.sqrt(scale))),
    notes: Math.min(500, Math.round(5 * Math.sqrt(scale))),
    events: Math.min(2000, Math.round(20 * Math.sqrt(scale))),
  };
}

/** Photos in the camera roll and the long side of their pixels, for a profile of `files` files. */
export function photoShape(files: number): { count: number; maxSide: number } {
  return { count: Math.min(500, Math.round(files * 0.01) + 6), maxSide: files > 20_000 ? 256 : 1024 };
}

/** Camera-roll path of the n-th photo (1-based): 1000 per folder, as iOS numbers them. */
export function photoPath(n: number, ext = 'JPG'): string {
  return `Media/DCIM/${100 + Math.floor((n - 1) / 1000)}APPLE/IMG_${String(((n - 1) % 9999) + 1).padStart(4, '0')}.${ext}`;
}
