/**
 * `ibackup backup --all`: every connected phone this computer is trusted by, backed up at once up
 * to `parallel` (a phone on USB and Wi-Fi once, over USB). Each run takes the phone's lock, so a
 * phone another ibackup is backing up is reported busy rather than run twice. One phone's failure
 * never stops the others.
 */
import { isIbackupError, IbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import type { MuxDeviceInfo } from '../host/usbmux.js';
import { parallel } from '../parallel.js';
import { backupDevice, type BackupProgress, type BackupResult } from './backup.js';
import type { HostContext } from './context.js';
import { hostDevice } from './describe.js';
import { withLinkGuard, type LinkGuardOptions } from './link-guard.js';
import { noDeviceError, uniqueDevices } from './select-device.js';

export interface BackupAllOptions {
  root: string;
  /** Phones backed up at once (default 2). */
  parallel?: number;
  signal?: AbortSignal;
  onProgress?: (udid: string, p: BackupProgress) => void;
  /** A phone's run started / ended (for a line per phone). */
  onStart?: (udid: string, connection: 'USB' | 'Network') => void;
  onResult?: (r: BackupAllEntry) => void;
  /** How a Wi-Fi link is watched during a run. */
  linkGuard?: LinkGuardOptions;
  /** The backup of one phone (default backupDevice). */
  backup?: (
    device: HostDevice,
    opts: { root: string; signal?: AbortSignal; onProgress: (p: BackupProgress) => void },
  ) => Promise<BackupResult>;
}

export interface BackupAllEntry {
  udid: string;
  ok: boolean;
  connection: 'USB' | 'Network';
  path?: string;
  date?: string;
  full?: boolean;
  sizeBytes?: number;
  bytesReceived?: number;
  durationMs?: number;
  error?: { code: string; message: string; remedy: string };
}

export interface BackupAllResult {
  results: BackupAllEntry[];
}

/** Backs up every trusted phone connected now; NO_DEVICE when none is. */
export async function backupAll(ctx: HostContext, opts: BackupAllOptions): Promise<BackupAllResult> {
  const listed = uniqueDevices(await ctx.mux.listDevices());
  if (listed.length === 0) throw noDeviceError();
  const trusted: MuxDeviceInfo[] = [];
  for (const d of listed) if ((await ctx.records.read(d.udid).catch(() => null)) !== null) trusted.push(d);
  const results: BackupAllEntry[] = listed
    .filter((d) => !trusted.includes(d))
    .map((d) => ({
      udid: d.udid,
      ok: false,
      connection: d.connection,
      error: new IbackupError('NOT_PAIRED').toJSON(),
    }));
  for (const r of results) opts.onResult?.(r);
  const backup = opts.backup ?? backupDevice;
  await parallel(trusted, Math.max(1, opts.parallel ?? 2), async (info) => {
    opts.onStart?.(info.udid, info.connection);
    let entry: BackupAllEntry;
    try {
      const device = hostDevice(ctx, info);
      const r = await withLinkGuard(
        device,
        opts.signal,
        (signal) => backup(device, { root: opts.root, signal, onProgress: (p) => opts.onProgress?.(info.udid, p) }),
        opts.linkGuard,
      );
      const { path, date, full, sizeBytes, bytesReceived, durationMs } = r;
      entry = {
        udid: info.udid,
        ok: true,
        connection: info.connection,
        path,
        date,
        full,
        sizeBytes,
        bytesReceived,
        durationMs,
      };
    } catch (err) {
      const e = isIbackupError(err) ? err : new IbackupError('INTERNAL', { message: String(err), cause: err });
      entry = { udid: info.udid, ok: false, connection: info.connection, error: e.toJSON() };
    }
    results.push(entry);
    opts.onResult?.(entry);
  });
  const order = listed.map((d) => d.udid);
  results.sort((a, b) => order.indexOf(a.udid) - order.indexOf(b.udid));
  return { results };
}
