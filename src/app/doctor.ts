/**
 * `ibackup doctor`: finds why a device is not detected, not trusted, locked, or why a backup
 * would not fit, and says what to do. Every check has a stable id; a failed one makes the
 * command exit 1. Checks: usbmuxd, device, paired, trusted, disk-space.
 */
import { freeBytesNear } from '../backup/disk-full.js';
import { IbackupError, isIbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import { readOsRelease, usbmuxdInstalled } from '../host/usbmuxd-setup.js';
import type { MuxDeviceInfo } from '../host/usbmux.js';
import { describe as describeAddress } from '../transport/connect.js';
import type { HostContext } from './context.js';
import { hostDevice } from './describe.js';
import { usbmuxdAdvice } from './doctor-usbmuxd.js';
import { photosCheck } from './doctor-photos.js';
import { wifiCheck } from './doctor-wifi.js';
import { checkBackupSpace, dataUsedBytes, MIN_FREE_BYTES } from './backup-space.js';
import { formatBytes } from './format-bytes.js';
import { hasAnyBackup } from './last-backup.js';
import { NO_DEVICE_REMEDY, findDevice, uniqueDevices } from './select-device.js';

export type CheckId = 'usbmuxd' | 'device' | 'paired' | 'trusted' | 'disk-space' | 'photos' | 'wifi';

export interface DoctorCheck {
  id: CheckId;
  ok: boolean;
  message: string;
  /** What to do ('' when there is nothing to do). */
  remedy: string;
  /** The device the check is about, when it is about one. */
  udid?: string;
  /** ok, but worth knowing (e.g. little free space for an incremental backup). */
  warning?: boolean;
}

export interface DoctorResult {
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** `-u`: the device to check (default: every connected device). */
  udid?: string;
  /** Backup roots (the chosen one first). */
  backupRoots: readonly string[];
  /** The usbmuxd address was given (--usbmuxd / USBMUXD_SOCKET_ADDRESS). */
  customAddress?: boolean;
  platform?: NodeJS.Platform;
  osRelease?: string;
  usbmuxdInstalled?: boolean;
  /** Free bytes for a folder (default statfs of the folder or its nearest existing parent). */
  freeBytes?: (dir: string) => Promise<number>;
  signal?: AbortSignal;
}

const pass = (id: CheckId, message: string, udid?: string): DoctorCheck => ({
  id,
  ok: true,
  message,
  remedy: '',
  ...(udid ? { udid } : {}),
});
const fail = (id: CheckId, message: string, remedy: string, udid?: string): DoctorCheck => ({
  id,
  ok: false,
  message,
  remedy,
  ...(udid ? { udid } : {}),
});

async function usbmuxdCheck(
  ctx: HostContext,
  opts: DoctorOptions,
): Promise<{ check: DoctorCheck; devices: MuxDeviceInfo[] | null; wifi?: DoctorCheck }> {
  const address = describeAddress(ctx.mux.address);
  try {
    const listed = await ctx.mux.listDevices();
    const devices = uniqueDevices(listed);
    const platform = opts.platform ?? process.platform;
    const wifi = wifiCheck({ platform, customAddress: opts.customAddress ?? false, listed });
    return { check: pass('usbmuxd', `usbmuxd answers at ${address}.`), devices, ...(wifi ? { wifi } : {}) };
  } catch (err) {
    if (isIbackupError(err) && err.code === 'USBMUXD_UNREACHABLE') {
      const platform = opts.platform ?? process.platform;
      const advice = usbmuxdAdvice({
        platform,
        osRelease: opts.osRelease ?? (platform === 'linux' ? readOsRelease() : ''),
        installed: opts.usbmuxdInstalled ?? usbmuxdInstalled(),
        customAddress: opts.customAddress ?? false,
        address,
      });
      return { check: fail('usbmuxd', advice.message, advice.remedy), devices: null };
    }
    const e = isIbackupError(err) ? err : new IbackupError('INTERNAL', { cause: err });
    return { check: fail('usbmuxd', `usbmuxd at ${address} misbehaves: ${e.message}`, e.remedy), devices: null };
  }
}

interface DeviceFacts {
  usedBytes: number | null;
}

async function trustChecks(device: HostDevice, checks: DoctorCheck[], signal?: AbortSignal): Promise<DeviceFacts> {
  const udid = device.udid;
  const found = await device.records.read(udid);
  if (!found) {
    checks.push(
      fail(
        'paired',
        `This computer has no pairing with ${udid}.`,
        'Run "ibackup pair", unlock the iPhone and tap "Trust" when it asks, then enter the passcode.',
        udid,
      ),
    );
    return { usedBytes: null };
  }
  checks.push(
    pass(
      'paired',
      `A pairing with ${udid} is stored (${found.source === 'usbmuxd' ? 'in usbmuxd' : (found.path ?? found.source)}).`,
      udid,
    ),
  );
  try {
    const disk = await device.withSession(
      (lockdown) => lockdown.getDomain('com.apple.disk_usage').catch(() => ({})),
      signal,
    );
    checks.push(pass('trusted', `${udid} trusts this computer (a session starts).`, udid));
    return { usedBytes: dataUsedBytes(disk) };
  } catch (err) {
    const e = isIbackupError(err) ? err : new IbackupError('INTERNAL', { cause: err });
    if (e.code === 'DEVICE_LOCKED') {
      checks.push(
        fail(
          'trusted',
          'The iPhone is locked.',
          'Unlock the iPhone with its passcode and keep it unlocked, then run "ibackup doctor" again.',
          udid,
        ),
      );
    } else if (e.code === 'NOT_PAIRED') {
      checks.push(
        fail(
          'trusted',
          'A pairing is stored, but the iPhone no longer accepts it.',
          'Run "ibackup pair", unlock the iPhone and tap "Trust". If it keeps failing: on the iPhone, Settings > General > Transfer or Reset iPhone > Reset > Reset Location & Privacy, then reconnect and trust again.',
          udid,
        ),
      );
    } else {
      checks.push(fail('trusted', `No trusted session: ${e.message}`, e.remedy, udid));
    }
    return { usedBytes: null };
  }
}

async function diskCheck(
  opts: DoctorOptions,
  facts: DeviceFacts | null,
  udid: string | undefined,
): Promise<DoctorCheck> {
  const root = opts.backupRoots[0] ?? '.';
  let free: number;
  try {
    free = await (opts.freeBytes ?? freeBytesNear)(root);
  } catch (err) {
    return fail(
      'disk-space',
      `Cannot tell the free space at ${root}: ${err instanceof Error ? err.message : String(err)}`,
      'Check that the backup folder is on a mounted, readable disk, or choose another with --backup-dir.',
      udid,
    );
  }
  const where = `${formatBytes(free)} free at ${root}`;
  if (!facts || udid === undefined) return pass('disk-space', `${where}.`, udid);
  return spaceVerdict(root, free, facts.usedBytes, !(await hasAnyBackup(opts.backupRoots, udid)), udid);
}

/** The same rule as Back Up Now (backup-space.ts): refuse only below the floor, warn when the disk looks short. */
function spaceVerdict(
  root: string,
  free: number,
  usedOnPhone: number | null,
  first: boolean,
  udid: string,
): DoctorCheck {
  const where = `${formatBytes(free)} free at ${root}`;
  const remedy = 'Free some space on that disk, or choose a folder on a bigger disk with --backup-dir.';
  let warning: string | undefined;
  try {
    warning = checkBackupSpace({ root, free, usedOnPhone, previousBackupBytes: undefined, full: first, first });
  } catch (err) {
    if (isIbackupError(err) && err.code === 'DISK_FULL') return fail('disk-space', err.message, err.remedy, udid);
    throw err;
  }
  if (!first && free < MIN_FREE_BYTES) warning = `${where}: enough for a small incremental backup, not for a full one.`;
  if (warning === undefined) return pass('disk-space', `${where}.`, udid);
  return { ...pass('disk-space', warning, udid), remedy, warning: true };
}

/** Runs every check it can; never throws for a problem it is meant to diagnose. */
export async function runDoctor(ctx: HostContext, opts: DoctorOptions): Promise<DoctorResult> {
  const checks: DoctorCheck[] = [];
  const mux = await usbmuxdCheck(ctx, opts);
  checks.push(mux.check);
  if (mux.wifi) checks.push(mux.wifi);
  let targets: MuxDeviceInfo[] = [];
  if (mux.devices !== null) {
    if (mux.devices.length === 0) {
      checks.push(fail('device', 'No iPhone is connected (usbmuxd lists no device).', NO_DEVICE_REMEDY));
    } else if (opts.udid !== undefined && opts.udid !== '') {
      try {
        targets = [await findDevice(ctx, opts.udid, opts.signal)];
        checks.push(pass('device', `${targets[0]?.udid} is connected (${targets[0]?.connection}).`, targets[0]?.udid));
      } catch (err) {
        const e = isIbackupError(err) ? err : new IbackupError('INTERNAL', { cause: err });
        checks.push(fail('device', e.message, e.remedy));
      }
    } else {
      targets = mux.devices;
      const list = targets.map((d) => `${d.udid} (${d.connection})`).join(', ');
      checks.push(
        pass('device', `${targets.length === 1 ? 'Connected' : `${targets.length} devices connected`}: ${list}.`),
      );
    }
  }
  for (const info of targets) {
    const device = hostDevice(ctx, info);
    const facts = await trustChecks(device, checks, opts.signal);
    checks.push(await diskCheck(opts, facts, info.udid));
    if (checks.some((c) => c.id === 'trusted' && c.ok && c.udid === info.udid))
      checks.push(await photosCheck(device, opts.signal));
  }
  if (targets.length === 0) checks.push(await diskCheck(opts, null, undefined));
  return { ok: checks.every((c) => c.ok), checks };
}
