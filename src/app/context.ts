/**
 * What every device use case needs: the usbmuxd client and the pair-record store, built from the
 * global options (`--usbmuxd`, the environment, ibackup's own folder). Tests inject every root.
 */
import { homedir } from 'node:os';
import { ibackupConfigDir } from '../app-dirs.js';
import { readOwnSettings } from '../backup/own-settings.js';
import { folderExists, resolveBackupRoot, type ResolvedRoot } from '../backup/roots.js';
import { PairRecordStore } from '../host/lockdown/pair-records.js';
import { UsbmuxClient } from '../host/usbmux.js';
import { resolveUsbmuxdAddress } from '../transport/address.js';

export interface HostOptions {
  /** `--usbmuxd ADDR`; else USBMUXD_SOCKET_ADDRESS, else the platform default. */
  usbmuxd?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
  /** ibackup's own pair-record folder (default <config dir>/lockdown). */
  ownDir?: string;
  /** System pair-record folders to read (default per OS). */
  systemDirs?: string[];
  /** Reply timeout for usbmuxd and lockdown (default 10 s). */
  timeoutMs?: number;
}

export interface HostContext {
  mux: UsbmuxClient;
  records: PairRecordStore;
  timeoutMs?: number;
}

/** Builds the usbmuxd client and pair-record store; connects to nothing yet. */
export function openHost(opts: HostOptions = {}): HostContext {
  const env = opts.env ?? process.env;
  const address = resolveUsbmuxdAddress(opts.usbmuxd, env, opts.platform ?? process.platform);
  const mux = new UsbmuxClient({ address, ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }) });
  const records = new PairRecordStore(mux, {
    env,
    ...(opts.platform === undefined ? {} : { platform: opts.platform }),
    ...(opts.home === undefined ? {} : { home: opts.home }),
    ...(opts.ownDir === undefined ? {} : { ownDir: opts.ownDir }),
    ...(opts.systemDirs === undefined ? {} : { systemDirs: opts.systemDirs }),
  });
  return { mux, records, ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }) };
}

export interface BackupRootOptions {
  /** `--backup-dir DIR`. */
  backupDir?: string;
  /** ibackup's own folder, whose settings may name the backup folder (default: the OS's). */
  configDir?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

/**
 * `--backup-dir`, else IBACKUP_BACKUP_DIR, else the folder chosen in the web app (ibackup's
 * settings), else the OS default (both Windows folders when present).
 */
export function backupRoot(opts: BackupRootOptions = {}): ResolvedRoot {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const home = opts.home ?? homedir();
  return resolveBackupRoot({
    env,
    platform,
    home,
    exists: folderExists,
    explicit: opts.backupDir,
    setting: readOwnSettings(opts.configDir ?? ibackupConfigDir({ env, platform, home })).backupDir,
  });
}
