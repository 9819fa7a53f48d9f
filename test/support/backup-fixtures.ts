/**
 * Builds backups on disk by hand for the backup reader's tests, following backup-format.md:
 * Info.plist (XML), Manifest.plist and Status.plist (binary), Manifest.db with the schema of §5.1,
 * MBFile records, blobs in `xx/<fileID>`; the encrypted variant follows §7.1 with a low DPIC so
 * tests stay fast. Independent of src/backup (only src/protocol codecs and better-sqlite3).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { aesCbcEncrypt, aesWrap, deriveKek, randomBytes } from '../../src/protocol/crypto.js';
import { buildClassWrappedKey, buildKeybag } from '../../src/protocol/keybag.js';
import type { KeybagClassKey } from '../../src/protocol/keybag.js';
import { encodeMBFile } from '../../src/protocol/nskeyed.js';
import type { MBFile } from '../../src/protocol/nskeyed.js';
import { serializeBinaryPlist, serializeXmlPlist } from '../../src/protocol/plist/index.js';
import type { PlistDict } from '../../src/protocol/plist/index.js';

export interface FixtureEntry {
  domain: string;
  relativePath: string;
  kind: 'file' | 'directory' | 'symlink';
  content?: Uint8Array;
  target?: string;
  /** Protection class of an encrypted file (default 3). */
  protectionClass?: number;
  /** Record a Digest (SHA-1 of the stored blob). */
  digest?: boolean;
  /** Record this Size instead of the content's length (a file that changed while backed up). */
  recordedSize?: number;
}

export interface FixtureOptions {
  udid?: string;
  deviceName?: string;
  productVersion?: string;
  /** Encrypt with this password (DPIC 1000, ITER 10 unless given). */
  password?: string;
  dpic?: number;
  iter?: number;
  entries?: FixtureEntry[];
  snapshotState?: string;
  statusDate?: Date;
  /** Set the WAL flag in Manifest.db's header (as real backups have). */
  wal?: boolean;
  /** Folder name (default the UDID). */
  folder?: string;
}

export interface BuiltBackup {
  dir: string;
  udid: string;
  entries: FixtureEntry[];
  /** fileID of each entry, same order. */
  fileIDs: string[];
  /** The KEK (derived key) of an encrypted backup. */
  kek?: Uint8Array;
  keybag?: Uint8Array;
}

export function sha1Hex(s: string | Uint8Array): string {
  return createHash('sha1').update(s).digest('hex');
}

export function fileIdOf(domain: string, relativePath: string): string {
  return sha1Hex(`${domain}-${relativePath}`);
}

/** Deterministic pseudo-random bytes (xorshift) so content is incompressible but reproducible. */
export function pseudoRandom(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function defaultEntries(): FixtureEntry[] {
  const te = new TextEncoder();
  return [
    { domain: 'HomeDomain', relativePath: '', kind: 'directory' },
    { domain: 'HomeDomain', relativePath: 'Library', kind: 'directory' },
    { domain: 'HomeDomain', relativePath: 'Library/SMS', kind: 'directory' },
    {
      domain: 'HomeDomain',
      relativePath: 'Library/SMS/sms.db',
      kind: 'file',
      content: pseudoRandom(70_000, 7),
      digest: true,
    },
    {
      domain: 'HomeDomain',
      relativePath: 'Library/Preferences/com.apple.springboard.plist',
      kind: 'file',
      content: te.encode('lower'),
      digest: true,
    },
    {
      domain: 'HomeDomain',
      relativePath: 'Library/Preferences/com.apple.SpringBoard.plist',
      kind: 'file',
      content: te.encode('UPPER case'),
      digest: true,
    },
    {
      domain: 'HomeDomain',
      relativePath: 'Library/empty.txt',
      kind: 'file',
      content: new Uint8Array(0),
      protectionClass: 4,
    },
    {
      domain: 'HomeDomain',
      relativePath: 'Library/block32.bin',
      kind: 'file',
      content: pseudoRandom(32, 3),
      protectionClass: 1,
    },
    { domain: 'DatabaseDomain', relativePath: '', kind: 'directory' },
    {
      domain: 'DatabaseDomain',
      relativePath: 'timezone/localtime',
      kind: 'symlink',
      target: '/usr/share/zoneinfo/Europe/Paris',
    },
    { domain: 'AppDomain-com.example.app', relativePath: '', kind: 'directory' },
    {
      domain: 'AppDomain-com.example.app',
      relativePath: 'Documents/notes.txt',
      kind: 'file',
      content: te.encode('hello notes\n'),
      protectionClass: 2,
    },
  ];
}

/** A fresh temp folder for one test (removed by the returned function). */
export function tempRoot(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'ibackup-test-'));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

const FLAGS = { file: 1, directory: 2, symlink: 4 } as const;
const MODES = { file: 0o100644, directory: 0o40755, symlink: 0o120755 } as const;

/** Eleven random class keys wrapped with `kek`, as a backup keybag holds them (classes 5, 9, 10, 11: wrap 3). */
export function classKeyBlocks(kek: Uint8Array): { classKeys: Map<number, Uint8Array>; blocks: KeybagClassKey[] } {
  const classKeys = new Map<number, Uint8Array>();
  const blocks: KeybagClassKey[] = [];
  for (let c = 11; c >= 1; c--) {
    const key = randomBytes(32);
    classKeys.set(c, key);
    blocks.push({
      uuid: randomBytes(16),
      protectionClass: c,
      wrap: [5, 9, 10, 11].includes(c) ? 3 : 2,
      keyType: 0,
      wrappedKey: aesWrap(kek, key),
      unknown: [],
    });
  }
  return { classKeys, blocks };
}

function keybagFor(password: string, dpic: number, iter: number) {
  const salt = randomBytes(20);
  const dpsl = randomBytes(20);
  const kek = deriveKek(password, { salt, iterations: iter, dpsl, dpic });
  const { classKeys, blocks } = classKeyBlocks(kek);
  const bytes = buildKeybag({
    version: 5,
    type: 1,
    uuid: randomBytes(16),
    hmck: new Uint8Array(40),
    wrap: 0,
    salt,
    iterations: iter,
    dpwt: 1,
    dpic,
    dpsl,
    classKeys: blocks,
    unknown: [],
  });
  return { kek, classKeys, bytes };
}

/** The eleven placeholder class entries of an unencrypted backup's keybag (nothing wrapped). */
export function placeholderClassKeys(): KeybagClassKey[] {
  const blocks: KeybagClassKey[] = [];
  for (let c = 1; c <= 11; c++) {
    blocks.push({
      uuid: randomBytes(16),
      protectionClass: c,
      wrap: 0,
      keyType: 0,
      wrappedKey: randomBytes(40),
      unknown: [],
    });
  }
  return blocks;
}

function unencryptedKeybag(): Uint8Array {
  const blocks = placeholderClassKeys();
  return buildKeybag({
    version: 5,
    type: 1,
    uuid: randomBytes(16),
    hmck: new Uint8Array(40),
    wrap: 0,
    salt: randomBytes(20),
    iterations: 10000,
    classKeys: blocks,
    unknown: [],
  });
}

/** Creates the schema of backup-format.md §5.1 and inserts rows into a new SQLite file. */
export function writeManifestDb(
  file: string,
  rows: Array<[string, string, string, number, Uint8Array]>,
  wal: boolean,
): void {
  const db = new Database(file);
  db.pragma('page_size = 4096');
  db.pragma('auto_vacuum = 2');
  db.pragma('user_version = 2');
  db.exec('CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB)');
  db.exec('CREATE INDEX FilesDomainIdx ON Files(domain)');
  db.exec('CREATE INDEX FilesRelativePathIdx ON Files(relativePath)');
  db.exec('CREATE INDEX FilesFlagsIdx ON Files(flags)');
  db.exec('CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)');
  const insert = db.prepare('INSERT INTO Files VALUES (?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const r of rows) insert.run(r[0], r[1], r[2], r[3], Buffer.from(r[4]));
  })();
  if (wal) db.pragma('journal_mode = WAL');
  db.close();
}

/** Writes a complete backup under `root` and returns what it wrote. */
export function buildBackup(root: string, o: FixtureOptions = {}): BuiltBackup {
  const udid = o.udid ?? '5e8dfbc7f9f29a7645d66ef70b6f2d3f5dad8583';
  const dir = path.join(root, o.folder ?? udid);
  mkdirSync(dir, { recursive: true });
  const entries = o.entries ?? defaultEntries();
  const enc = o.password === undefined ? undefined : keybagFor(o.password, o.dpic ?? 1000, o.iter ?? 10);
  const date = o.statusDate ?? new Date('2024-05-01T10:00:00Z');
  const rows: Array<[string, string, string, number, Uint8Array]> = [];
  const fileIDs: string[] = [];
  let inode = 1000;
  for (const e of entries) {
    const id = fileIdOf(e.domain, e.relativePath);
    fileIDs.push(id);
    const f: MBFile = {
      relativePath: e.relativePath,
      lastModified: 1_700_000_000,
      lastStatusChange: 1_700_000_000,
      birth: 1_700_000_000,
      mode: MODES[e.kind],
      userId: 501,
      groupId: 501,
      inodeNumber: inode++,
      flags: 0,
      size: e.kind === 'file' ? (e.recordedSize ?? (e.content ?? new Uint8Array(0)).length) : 0,
      protectionClass: 0,
    };
    if (e.kind === 'symlink') f.target = e.target ?? '/dev/null';
    if (e.kind === 'file') {
      const content = e.content ?? new Uint8Array(0);
      let blob = content;
      if (enc !== undefined) {
        const cls = e.protectionClass ?? 3;
        const fileKey = randomBytes(32);
        blob = aesCbcEncrypt(fileKey, content);
        f.protectionClass = cls;
        f.encryptionKey = buildClassWrappedKey({
          protectionClass: cls,
          wrappedKey: aesWrap(enc.classKeys.get(cls) as Uint8Array, fileKey),
        });
      }
      if (e.digest === true) f.digest = createHash('sha1').update(blob).digest();
      mkdirSync(path.join(dir, id.slice(0, 2)), { recursive: true });
      writeFileSync(path.join(dir, id.slice(0, 2), id), blob);
    }
    rows.push([id, e.domain, e.relativePath, FLAGS[e.kind], encodeMBFile(f)]);
  }
  const manifestDbKey = randomBytes(32);
  const dbPath = path.join(dir, 'Manifest.db');
  if (enc === undefined) writeManifestDb(dbPath, rows, o.wal ?? false);
  else {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'ibackup-fixture-'));
    try {
      writeManifestDb(path.join(tmp, 'm.db'), rows, o.wal ?? true);
      writeFileSync(dbPath, aesCbcEncrypt(manifestDbKey, readFileSync(path.join(tmp, 'm.db'))));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const productVersion = o.productVersion ?? '17.4';
  const deviceName = o.deviceName ?? 'Test iPhone';
  const lockdown: PlistDict = {
    BuildVersion: '21E219',
    DeviceName: deviceName,
    ProductType: 'iPhone15,2',
    ProductVersion: productVersion,
    SerialNumber: 'F2LXK0AAAAAA',
    UniqueDeviceID: udid,
    'com.apple.mobile.data_sync': {},
  };
  const manifest: PlistDict = {
    BackupKeyBag: enc?.bytes ?? unencryptedKeybag(),
    IsEncrypted: enc !== undefined,
    WasPasscodeSet: true,
    Date: date,
    Version: '10.0',
    SystemDomainsVersion: '24.0',
    Lockdown: lockdown,
    Applications: {
      'com.example.app': {
        CFBundleIdentifier: 'com.example.app',
        CFBundleVersion: '1',
        ContainerContentClass: 'Data/Application',
        Path: '/private/var/containers/Bundle/Application/X/Example.app',
      },
    },
  };
  if (enc !== undefined) {
    manifest.ManifestKey = buildClassWrappedKey({
      protectionClass: 4,
      wrappedKey: aesWrap(enc.classKeys.get(4) as Uint8Array, manifestDbKey),
    });
  }
  writeFileSync(path.join(dir, 'Manifest.plist'), serializeBinaryPlist(manifest));
  writeFileSync(
    path.join(dir, 'Status.plist'),
    serializeBinaryPlist({
      IsFullBackup: true,
      Version: '3.3',
      BackupState: 'new',
      Date: date,
      UUID: 'B1C2D3E4-0000-4000-8000-000000000001',
      SnapshotState: o.snapshotState ?? 'finished',
    }),
  );
  writeFileSync(
    path.join(dir, 'Info.plist'),
    serializeXmlPlist({
      'Build Version': '21E219',
      'Device Name': deviceName,
      'Display Name': deviceName,
      GUID: 'FAE633ADAB6B9777CD59DA12B747CE59',
      'Installed Applications': ['com.example.app'],
      'Last Backup Date': date,
      'Product Type': 'iPhone15,2',
      'Product Version': productVersion,
      'Serial Number': 'F2LXK0AAAAAA',
      'Target Identifier': udid,
      'Target Type': 'Device',
      'Unique Identifier': udid.toUpperCase(),
      'iTunes Version': '12.13',
      'iTunes Settings': {},
      Applications: {},
    }),
  );
  return {
    dir,
    udid,
    entries,
    fileIDs,
    ...(enc === undefined ? {} : { kek: enc.kek, keybag: enc.bytes }),
  };
}
