/**
 * Shared pieces of the verify / files / password tests: a real backup made by the virtual iPhone
 * (tiny profile, in process), a snapshot of a folder's listing to prove readers never write into
 * a backup, an iOS 9 style (Manifest.mbdb) backup written byte by byte, and the CLI with private
 * config and backup folders and no reachable usbmuxd.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, lstatSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backupDevice } from '../../src/app/backup.js';
import { openHost, type HostContext } from '../../src/app/context.js';
import { pairDevice } from '../../src/app/pair.js';
import { selectDevice } from '../../src/app/select-device.js';
import { aesCbcEncrypt, aesWrap, randomBytes } from '../../src/protocol/crypto.js';
import { buildClassWrappedKey } from '../../src/protocol/keybag.js';
import { serializeBinaryPlist, serializeXmlPlist } from '../../src/protocol/plist/index.js';
import { REPO_ROOT } from './repo-root.js';
import { startTestEmulator, type TestEmulator } from './test-emulator.js';
import type { CliResult } from './bench.js';
import { bigEndian as be, mbdbString as str } from './bytes.js';
import { legacyKeybag } from './legacy-backup-fixtures.js';

export interface DemoBackup {
  te: TestEmulator;
  ctx: HostContext;
  root: string;
  dir: string;
  udid: string;
  dispose(): Promise<void>;
}

/** A full backup of a tiny virtual iPhone, made in process. */
export async function makeDemoBackup(): Promise<DemoBackup> {
  const te = await startTestEmulator({ profile: 'tiny' });
  const host = mkdtempSync(path.join(tmpdir(), 'ibackup-read-'));
  const root = path.join(host, 'backups');
  const ctx = openHost({
    usbmuxd: te.emu.socketAddress,
    ownDir: path.join(host, 'lockdown'),
    systemDirs: [],
    timeoutMs: 5_000,
  });
  const device = await selectDevice(ctx);
  await pairDevice(device, {});
  const r = await backupDevice(device, { root });
  return {
    te,
    ctx,
    root,
    dir: r.path,
    udid: r.udid,
    async dispose() {
      await te.dispose();
      rmSync(host, { recursive: true, force: true });
    },
  };
}

/** Every entry under a folder with its size, mode and modification time: equal snapshots mean nothing was written. */
export function listingOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      out.push(`${path.relative(dir, p)} ${st.isDirectory() ? 'dir' : st.size} ${st.mode.toString(8)} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** Runs the CLI from source with `stdin` as its standard input (closed at once when none), killed after 30 s. */
export function runCliWithInput(args: readonly string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
      env,
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? 124, stdout, stderr });
    });
  });
}

/** Runs the CLI with private folders and an unreachable usbmuxd (so no real device is ever asked). */
export function cliIn(configHome: string, backupDir: string) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: configHome,
    IBACKUP_BACKUP_DIR: backupDir,
    NO_COLOR: '1',
  };
  delete env.USBMUXD_SOCKET_ADDRESS;
  delete env.IBACKUP_PASSWORD;
  delete env.IBACKUP_NEW_PASSWORD;
  const noMux = `UNIX:${path.join(configHome, 'no-usbmuxd.sock')}`;
  return (args: readonly string[], o: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> =>
    runCliWithInput(['--usbmuxd', noMux, ...args], { ...env, ...(o.env ?? {}) }, o.stdin);
}

// ---- iOS 9 style backup (Manifest.mbdb, flat blobs), written field by field (backup-format.md §5.7).

export interface LegacyEntry {
  domain: string;
  relativePath: string;
  kind: 'file' | 'directory' | 'symlink';
  content?: Uint8Array;
  target?: string;
}

export interface LegacyBackup {
  dir: string;
  kek?: Uint8Array;
}

/** Writes an iOS 9.3 backup: Manifest.mbdb, flat blobs, Manifest.plist (a one-stage keybag when encrypted). */
export function buildLegacyBackup(root: string, entries: LegacyEntry[], password?: string): LegacyBackup {
  const dir = path.join(root, 'f0e1d2c3b4a5968778695a4b3c2d1e0f11223344');
  mkdirSync(dir, { recursive: true });
  const { bytes: keybag, kek, classKeys } = legacyKeybag(password);
  const bytes: number[] = [0x6d, 0x62, 0x64, 0x62, 0x05, 0x00];
  for (const e of entries) {
    const mode = e.kind === 'file' ? 0o100644 : e.kind === 'directory' ? 0o40755 : 0o120755;
    let blob: Uint8Array | undefined;
    let wrapped: Uint8Array | null = null;
    if (e.kind === 'file') {
      blob = e.content ?? new Uint8Array(0);
      if (classKeys !== undefined) {
        const fileKey = randomBytes(32);
        blob = aesCbcEncrypt(fileKey, blob);
        wrapped = buildClassWrappedKey({
          protectionClass: 3,
          wrappedKey: aesWrap(classKeys.get(3) as Uint8Array, fileKey),
        });
      }
      const id = createHash('sha1').update(`${e.domain}-${e.relativePath}`).digest('hex');
      writeFileSync(path.join(dir, id), blob);
    }
    const size = e.kind === 'file' ? (e.content ?? new Uint8Array(0)).length : 0;
    bytes.push(...str(e.domain), ...str(e.relativePath), ...str(e.target ?? null), ...str(null), ...str(wrapped));
    bytes.push(
      ...be(mode, 2),
      ...be(1000, 8),
      ...be(501, 4),
      ...be(501, 4),
      ...be(1_450_000_000, 4),
      ...be(1_450_000_001, 4),
      ...be(1_450_000_002, 4),
    );
    bytes.push(...be(size, 8), e.kind === 'file' ? 3 : 0, 0);
  }
  writeFileSync(path.join(dir, 'Manifest.mbdb'), new Uint8Array(bytes));
  writeFileSync(
    path.join(dir, 'Manifest.plist'),
    serializeBinaryPlist({
      BackupKeyBag: keybag,
      IsEncrypted: password !== undefined,
      Version: '9.1',
      Date: new Date('2016-01-01T00:00:00Z'),
      Lockdown: {
        DeviceName: 'Old iPhone',
        ProductVersion: '9.3.6',
        UniqueDeviceID: path.basename(dir),
        ProductType: 'iPhone7,2',
      },
    }),
  );
  writeFileSync(
    path.join(dir, 'Status.plist'),
    serializeBinaryPlist({
      SnapshotState: 'finished',
      Version: '2.4',
      IsFullBackup: true,
      Date: new Date('2016-01-01T00:00:00Z'),
    }),
  );
  writeFileSync(
    path.join(dir, 'Info.plist'),
    serializeXmlPlist({
      'Device Name': 'Old iPhone',
      'Product Version': '9.3.6',
      'Target Identifier': path.basename(dir),
    }),
  );
  return { dir, ...(kek === undefined ? {} : { kek }) };
}
