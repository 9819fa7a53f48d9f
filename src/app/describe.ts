/**
 * What a connected device says about itself before any trust: name, model, iOS version (the
 * values lockdownd gives every host), and optionally whether this computer's pairing still works.
 */
import { isIbackupError } from '../errors.js';
import { HostDevice } from '../host/device.js';
import type { LockdownClient } from '../host/lockdown/client.js';
import { modelName } from '../host/models.js';
import type { MuxDeviceInfo } from '../host/usbmux.js';
import type { PlistDict } from '../protocol/plist/index.js';
import type { HostContext } from './context.js';

/** One connected device, as `ibackup devices` lists it. */
export interface DeviceSummary {
  udid: string;
  /** null when the device did not answer (still starting up, or gone). */
  name: string | null;
  productType: string | null;
  model: string | null;
  iosVersion: string | null;
  connection: 'USB' | 'Network';
  /** A pair record exists and a trusted session starts. */
  paired: boolean;
  /** usbmuxd's number for this connection. */
  deviceId: number;
}

export interface DescribeOptions {
  /** Also check the pairing (pair record + a session); default true. */
  checkPaired?: boolean;
  signal?: AbortSignal;
}

export function hostDevice(ctx: HostContext, info: MuxDeviceInfo): HostDevice {
  return new HostDevice(ctx.mux, info, ctx.records, ctx.timeoutMs === undefined ? {} : { timeoutMs: ctx.timeoutMs });
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Reads the pre-session identity values (one GetValue, keys one by one where that fails). */
export async function readIdentity(lockdown: LockdownClient): Promise<PlistDict> {
  let root: PlistDict = {};
  try {
    root = await lockdown.getDomain();
  } catch (err) {
    if (!isIbackupError(err) || err.code === 'CONNECTION_CLOSED' || err.code === 'TIMEOUT') throw err;
  }
  for (const key of ['DeviceName', 'ProductType', 'ProductVersion']) {
    if (root[key] !== undefined) continue;
    try {
      root[key] = await lockdown.getValue(undefined, key);
    } catch (err) {
      if (!isIbackupError(err) || err.code === 'CONNECTION_CLOSED' || err.code === 'TIMEOUT') throw err;
    }
  }
  return root;
}

/** What is known of a device before it has said anything: only what usbmuxd reports. */
export function unknownDevice(info: MuxDeviceInfo): DeviceSummary {
  return {
    udid: info.udid,
    name: null,
    productType: null,
    model: null,
    iosVersion: null,
    connection: info.connection,
    paired: false,
    deviceId: info.deviceId,
  };
}

/** Name, model, iOS and pairing state of one device; never throws for a device that will not talk. */
export async function describeDevice(
  ctx: HostContext,
  info: MuxDeviceInfo,
  opts: DescribeOptions = {},
): Promise<DeviceSummary> {
  const summary = unknownDevice(info);
  const device = hostDevice(ctx, info);
  let lockdown: LockdownClient | undefined;
  try {
    lockdown = await device.lockdown(opts.signal);
    const values = await readIdentity(lockdown);
    summary.name = str(values.DeviceName);
    summary.productType = str(values.ProductType);
    summary.model = summary.productType === null ? null : modelName(summary.productType);
    summary.iosVersion = str(values.ProductVersion);
    if (opts.checkPaired !== false) {
      const found = await ctx.records.read(info.udid);
      if (found) {
        await lockdown.startSession(found.record);
        summary.paired = true;
        await lockdown.stopSession().catch(() => undefined);
      }
    }
  } catch {
    // A device that is starting up, locked in restore mode or gone is listed with what is known.
  } finally {
    lockdown?.close();
  }
  return summary;
}
