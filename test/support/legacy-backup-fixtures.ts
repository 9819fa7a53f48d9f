/**
 * Builds iOS 9 style backups on disk by hand for the verify tests, following backup-format.md
 * §5.7 and §6: Manifest.mbdb written field by field (big-endian, 0xFFFF = null string), blobs flat
 * in the backup folder named SHA-1("<domain>-<relativePath>"), a Digest = SHA-1 of the blob as
 * stored (the ciphertext when encrypted) on the files that ask for it, and, when encrypted, a
 * version 3 keybag with one PBKDF2 stage (no DPWT/DPIC/DPSL) whose class keys wrap each file's
 * key (record key = LE u32 class ‖ RFC 3394-wrapped key). Manifest.plist has no ManifestKey,
 * as on a real iOS 9 backup. Independent of src/backup (only src/protocol codecs).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { aesCbcEncrypt, aesWrap, deriveKek, randomBytes } from '../../src/protocol/crypto.js';
import { buildClassWrappedKey, buildKeybag } from '../../src/protocol/keybag.js';
import type { KeybagClassKey } from '../../src/protocol/keybag.js';
import { serializeBinaryPlist, serializeXmlPlist } from '../../src/protocol/plist/index.js';
import { bigEndian as be, mbdbString as str } from './bytes.js';
import { classKeyBlocks, fileIdOf, placeholderClassKeys, pseudoRandom } from './backup-fixtures.js';

export interface LegacyFixtureEntry {
  domain: string;
  relativePath: string;
  kind: 'file' | 'directory' | 'symlink';
  content?: Uint8Array;
  target?: string;
  /** Protection class of an encrypted file (default 4). */
  protectionClass?: number;
  /** Record a Digest (SHA-1 of the stored blob). */
  digest?: boolean;
  /** Record this Size instead of the content's length. */
  recordedSize?: number;
  /** Record this mode instead of the kind's. */
  mode?: number;
  /** Leave out the encryption key of an encrypted file. */
  noKey?: boolean;
}

export interface LegacyFixtureOptions {
  password?: string;
  entries?: LegacyFixtureEntry[];
}

export interface BuiltLegacyBackup {
  dir: string;
  udid: string;
  entries: LegacyFixtureEntry[];
  /** fileID of each entry, same order. */
  fileIDs: string[];
  kek?: Uint8Array;
}

const UDID = '7c2a9d1e5b3f4a6c8d0e1f2a3b4c5d6e7f809a1b';
const MODES = { file: 0o100644, directory: 0o40755, symlink: 0o120755 } as const;

export function legacyEntries(): LegacyFixtureEntry[] {
  const te = new TextEncoder();
  return [
    { domain: 'HomeDomain', relativePath: '', kind: 'directory' },
    { domain: 'HomeDomain', relativePath: 'Library/SMS', kind: 'directory' },
    {
      domain: 'HomeDomain',
      relativePath: 'Library/SMS/sms.db',
      kind: 'file',
      content: pseudoRandom(50_000, 9),
      digest: true,
    },
    {
      domain: 'HomeDomain',
      relativePath: 'Library/Preferences/com.apple.springboard.plist',
      kind: 'file',
      content: te.encode('springboard prefs'),
      digest: true,
      protectionClass: 3,
    },
    { domain: 'HomeDomain', relativePath: 'Library/empty.txt', kind: 'file', content: new Uint8Array(0) },
    {
      domain: 'MediaDomain',
      relativePath: 'Media/DCIM/100APPLE/IMG_0001.JPG',
      kind: 'file',
      content: pseudoRandom(32, 5),
      protectionClass: 1,
    },
    {
      domain: 'AppDomain-com.example.notes',
      relativePath: 'Documents/notes.txt',
      kind: 'file',
      content: te.encode('old notes\n'),
      protectionClass: 3,
    },
    {
      domain: 'DatabaseDomain',
      relativePath: 'timezone/localtime',
      kind: 'symlink',
      target: '/usr/share/zoneinfo/Europe/Paris',
    },
  ];
}

/**
 * The one-stage keybag of an iOS 9 backup (10 rounds here): for an encrypted backup, eleven class
 * keys wrapped with the password's key; else placeholder entries.
 */
export function legacyKeybag(password: string | undefined): {
  bytes: Uint8Array;
  kek?: Uint8Array;
  classKeys?: Map<number, Uint8Array>;
} {
  const salt = randomBytes(20);
  const bag = (classKeys: KeybagClassKey[]): Uint8Array =>
    buildKeybag({
      version: 3,
      type: 1,
      uuid: randomBytes(16),
      hmck: new Uint8Array(40),
      wrap: 0,
      salt,
      iterations: 10,
      classKeys,
      unknown: [],
    });
  if (password === undefined) {
    return { bytes: bag(placeholderClassKeys()) };
  }
  const kek = deriveKek(password, { salt, iterations: 10 });
  const { classKeys, blocks } = classKeyBlocks(kek);
  return { bytes: bag(blocks), kek, classKeys };
}

/** One Manifest.mbdb record (§5.7). */
function record(e: LegacyFixtureEntry, digest: Uint8Array | null, key: Uint8Array | null, inode: number): number[] {
  const size = e.kind === 'file' ? (e.recordedSize ?? (e.content ?? new Uint8Array(0)).length) : 0;
  return [
    ...str(e.domain),
    ...str(e.relativePath),
    ...str(e.kind === 'symlink' ? (e.target ?? '/dev/null') : null),
    ...str(digest),
    ...str(key),
    ...be(e.mode ?? MODES[e.kind], 2),
    ...be(inode, 8),
    ...be(501, 4),
    ...be(501, 4),
    ...be(1_450_000_000, 4),
    ...be(1_450_000_001, 4),
    ...be(1_450_000_002, 4),
    ...be(size, 8),
    e.kind === 'file' ? (e.protectionClass ?? 4) : 0,
    0,
  ];
}

/** Writes a complete iOS 9.3 backup under `root` and returns what it wrote. */
export function buildLegacyFixture(root: string, o: LegacyFixtureOptions = {}): BuiltLegacyBackup {
  const dir = path.join(root, UDID);
  mkdirSync(dir, { recursive: true });
  const entries = o.entries ?? legacyEntries();
  const kb = legacyKeybag(o.password);
  const bytes: number[] = [0x6d, 0x62, 0x64, 0x62, 0x05, 0x00];
  const fileIDs: string[] = [];
  for (const [i, e] of entries.entries()) {
    const id = fileIdOf(e.domain, e.relativePath);
    fileIDs.push(id);
    let digest: Uint8Array | null = null;
    let key: Uint8Array | null = null;
    if (e.kind === 'file') {
      let blob = e.content ?? new Uint8Array(0);
      if (kb.classKeys !== undefined) {
        const cls = e.protectionClass ?? 4;
        const fileKey = randomBytes(32);
        blob = aesCbcEncrypt(fileKey, blob);
        if (e.noKey !== true)
          key = buildClassWrappedKey({
            protectionClass: cls,
            wrappedKey: aesWrap(kb.classKeys.get(cls) as Uint8Array, fileKey),
          });
      }
      if (e.digest === true) digest = createHash('sha1').update(blob).digest();
      writeFileSync(path.join(dir, id), blob);
    }
    bytes.push(...record(e, digest, key, 2000 + i));
  }
  writeFileSync(path.join(dir, 'Manifest.mbdb'), new Uint8Array(bytes));
  const date = new Date('2016-03-01T09:00:00Z');
  const lockdown = {
    BuildVersion: '13G37',
    DeviceName: 'Old iPhone',
    ProductType: 'iPhone7,2',
    ProductVersion: '9.3.6',
    SerialNumber: 'F2LQ0AAAAAAA',
    UniqueDeviceID: UDID,
    'com.apple.mobile.data_sync': {},
  };
  writeFileSync(
    path.join(dir, 'Manifest.plist'),
    serializeBinaryPlist({
      BackupKeyBag: kb.bytes,
      IsEncrypted: o.password !== undefined,
      WasPasscodeSet: true,
      Date: date,
      Version: '9.1',
      SystemDomainsVersion: '24.0',
      Lockdown: lockdown,
      Applications: {},
    }),
  );
  writeFileSync(
    path.join(dir, 'Status.plist'),
    serializeBinaryPlist({
      IsFullBackup: true,
      Version: '2.4',
      BackupState: 'new',
      Date: date,
      UUID: 'A0B1C2D3-0000-4000-8000-000000000009',
      SnapshotState: 'finished',
    }),
  );
  writeFileSync(
    path.join(dir, 'Info.plist'),
    serializeXmlPlist({
      'Build Version': '13G37',
      'Device Name': 'Old iPhone',
      'Display Name': 'Old iPhone',
      'Last Backup Date': date,
      'Product Type': 'iPhone7,2',
      'Product Version': '9.3.6',
      'Serial Number': 'F2LQ0AAAAAAA',
      'Target Identifier': UDID,
      'Target Type': 'Device',
      'Unique Identifier': UDID.toUpperCase(),
      'iTunes Version': '12.11.0.26',
    }),
  );
  return { dir, udid: UDID, entries, fileIDs, ...(kb.kek === undefined ? {} : { kek: kb.kek }) };
}
