/**
 * The mobilebackup2 requests of one virtual device: Backup, Info and List (ChangePassword and
 * Restore are added by the encryption and restore modules).
 */
import { isPlistDict, parsePlist, serializeXmlPlist, type PlistDict } from '../../../protocol/plist/index.js';
import { runBackup, type BackupCrypto, type BackupSource } from './backup-script.js';
import type { HostFiles } from './host-files.js';
import type { Mb2Handler, Mb2Result } from './index.js';
import { readManifestDb } from './manifest-writer.js';
import { decodeMBFile } from '../../../protocol/nskeyed.js';

/** What the handlers need from the device. */
export interface BackupDevice {
  udid: string;
  source: () => BackupSource;
  lockdownSnapshot: () => PlistDict;
  applications: () => PlistDict;
  wasPasscodeSet: () => boolean;
  plainKeybag: () => Uint8Array;
  /**
   * What the phone does before the run's first message: passcode prompt, snapshot, preparation
   * silence (run-start.ts); throws Mb2Failure to end the request.
   */
  startRun: (signal: AbortSignal) => Promise<void>;
  /** Encryption for this run, when a backup password is set. */
  crypto: () => Promise<BackupCrypto | undefined>;
  /** Called between phases: throws to stop the run (cancel, injected faults). */
  checkpoint: (phase: string, signal: AbortSignal) => Promise<void>;
  /** Throughput hook for every chunk uploaded. */
  onBytes: (n: number) => Promise<void> | void;
  now: () => Date;
  /** Called after a successful backup (lockdown's LastiTunesBackupDate…). */
  backedUp: (date: Date) => void;
}

export function backupHandlers(dev: BackupDevice): Record<string, Mb2Handler> {
  const target = (req: PlistDict): string | undefined => {
    const t = typeof req.TargetIdentifier === 'string' ? req.TargetIdentifier : dev.udid;
    return t.toLowerCase().replace(/-/g, '') === dev.udid.toLowerCase().replace(/-/g, '') ? dev.udid : undefined;
  };
  const source = (req: PlistDict): string =>
    typeof req.SourceIdentifier === 'string' && req.SourceIdentifier !== '' ? req.SourceIdentifier : dev.udid;

  return {
    Backup: async (req, files, signal) => {
      const udid = target(req);
      if (!udid) return { code: 1, description: 'TargetIdentifier does not match this device (MBErrorDomain/1)' };
      const options = isPlistDict(req.Options) ? req.Options : {};
      await dev.startRun(signal);
      const crypto = await dev.crypto();
      files.onBytes = dev.onBytes;
      const out = await runBackup({
        udid,
        files,
        source: dev.source(),
        forceFull: options.ForceFullBackup === true,
        now: dev.now,
        lockdown: dev.lockdownSnapshot(),
        applications: dev.applications(),
        wasPasscodeSet: dev.wasPasscodeSet(),
        plainKeybag: dev.plainKeybag(),
        ...(crypto ? { crypto } : {}),
        checkpoint: (phase) => dev.checkpoint(phase, signal),
      });
      if (out.code === 0) dev.backedUp(new Date());
      return { code: out.code, description: out.description };
    },
    Info: (req, files) => backupInfo(files, source(req)),
    List: (req, files) => listBackup(files, source(req)),
  } satisfies Record<string, Mb2Handler>;
}

/** Info: the host's Info.plist of the backup, as XML. */
async function backupInfo(files: HostFiles, id: string): Promise<Mb2Result> {
  const got = await files.downloadFiles([`${id}/Info.plist`, `${id}/Status.plist`]);
  const info = got.get(`${id}/Info.plist`);
  if (!got.has(`${id}/Status.plist`)) return missing(`${id}/Status.plist`);
  if (!info) return missing(`${id}/Info.plist`);
  return { code: 0, content: new TextDecoder().decode(serializeXmlPlist(parsePlist(info))) };
}

/** List: the files of an unencrypted backup as CSV (domain, path, size). */
async function listBackup(files: HostFiles, id: string): Promise<Mb2Result> {
  const got = await files.downloadFiles([`${id}/Manifest.plist`, `${id}/Manifest.db`]);
  const mp = got.get(`${id}/Manifest.plist`);
  const db = got.get(`${id}/Manifest.db`);
  if (!mp) return missing(`${id}/Manifest.plist`);
  if (!db) return missing(`${id}/Manifest.db`);
  const plist = parsePlist(mp);
  if (isPlistDict(plist) && plist.IsEncrypted === true) {
    return { code: 207, description: 'Invalid password: the backup is encrypted (MBErrorDomain/207)' };
  }
  const lines = ['Domain,RelativePath,Size'];
  const rows = readManifestDb(db);
  for (const r of rows.values()) {
    if (r.flags !== 1) continue;
    const f = decodeMBFile(r.file);
    lines.push(`${csv(r.domain)},${csv(r.relativePath)},${String(f.size ?? 0)}`);
  }
  return { code: 0, content: `${lines.join('\n')}\n` };
}

function missing(path: string): { code: number; description: string } {
  return { code: 4, description: `No such file or directory at path "${path}" (MBErrorDomain/4)` };
}

function csv(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export type { HostFiles };
