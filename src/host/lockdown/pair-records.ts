/**
 * Where pair records live: usbmuxd first (so ibackup, libimobiledevice and the system share one
 * trust), then ibackup's own folder (for a usbmuxd that cannot store them), then the system
 * folders. Files ibackup writes are 0600 in a 0700 folder, written atomically.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ibackupConfigDir, systemLockdownDirs, type PlatformEnv } from '../../app-dirs.js';
import { isIbackupError } from '../../errors.js';
import { isPlistDict, parsePlist, serializeXmlPlist } from '../../protocol/plist/index.js';
import type { UsbmuxClient } from '../usbmux.js';
import { pairRecordFromPlist, pairRecordToPlist, type PairRecord } from './pairing.js';

export type PairRecordSource = 'usbmuxd' | 'ibackup' | 'system';

export interface FoundPairRecord {
  record: PairRecord;
  source: PairRecordSource;
  path?: string;
}

export interface PairRecordStoreOptions extends PlatformEnv {
  /** ibackup's lockdown folder (default <config dir>/lockdown). */
  ownDir?: string;
  /** System folders to read (default per OS). */
  systemDirs?: string[];
}

const SAFE_UDID = /^[A-Za-z0-9-]{1,64}$/;

export class PairRecordStore {
  readonly ownDir: string;
  private readonly systemDirs: string[];

  constructor(
    private readonly mux: UsbmuxClient,
    opts: PairRecordStoreOptions = {},
  ) {
    this.ownDir = opts.ownDir ?? join(ibackupConfigDir(opts), 'lockdown');
    this.systemDirs = opts.systemDirs ?? systemLockdownDirs(opts);
  }

  async read(udid: string): Promise<FoundPairRecord | null> {
    if (!SAFE_UDID.test(udid)) return null;
    try {
      const bytes = await this.mux.readPairRecord(udid);
      const record = bytes ? decode(bytes) : null;
      if (record) return { record, source: 'usbmuxd' };
    } catch (err) {
      if (!isIbackupError(err)) throw err; // usbmuxd trouble: fall back to files
    }
    const own = join(this.ownDir, `${udid}.plist`);
    const fromOwn = await readRecordFile(own);
    if (fromOwn) return { record: fromOwn, source: 'ibackup', path: own };
    for (const dir of this.systemDirs) {
      const path = join(dir, `${udid}.plist`);
      const r = await readRecordFile(path);
      if (r) return { record: r, source: 'system', path };
    }
    return null;
  }

  /** Saves through usbmuxd; where it refuses, in ibackup's folder. Returns where it went. */
  async save(udid: string, record: PairRecord, deviceId?: number): Promise<PairRecordSource> {
    const bytes = serializeXmlPlist(pairRecordToPlist(record));
    let stored = false;
    try {
      stored = await this.mux.savePairRecord(udid, bytes, deviceId);
    } catch (err) {
      if (!isIbackupError(err)) throw err;
    }
    if (stored) {
      // A stale copy in our folder must not shadow the shared one later.
      await rm(join(this.ownDir, `${udid}.plist`), { force: true });
      return 'usbmuxd';
    }
    await this.writeOwn(udid, bytes);
    return 'ibackup';
  }

  /** Forgets the record everywhere ibackup may write it. */
  async delete(udid: string): Promise<void> {
    try {
      await this.mux.deletePairRecord(udid);
    } catch (err) {
      if (!isIbackupError(err)) throw err;
    }
    if (SAFE_UDID.test(udid)) await rm(join(this.ownDir, `${udid}.plist`), { force: true });
  }

  private async writeOwn(udid: string, bytes: Uint8Array): Promise<void> {
    await mkdir(this.ownDir, { recursive: true, mode: 0o700 });
    await chmod(this.ownDir, 0o700);
    const path = join(this.ownDir, `${udid}.plist`);
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, bytes, { mode: 0o600 });
    await rename(tmp, path);
  }
}

function decode(bytes: Uint8Array): PairRecord | null {
  try {
    const v = parsePlist(bytes);
    return isPlistDict(v) ? pairRecordFromPlist(v) : null;
  } catch {
    return null;
  }
}

async function readRecordFile(path: string): Promise<PairRecord | null> {
  try {
    return decode(await readFile(path));
  } catch {
    return null;
  }
}
