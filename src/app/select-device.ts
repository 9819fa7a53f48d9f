/**
 * Which device a command works on: `-u UDID` (any case, with or without the dash) or `-u "Name"`;
 * the only one connected; or, with several and none chosen, MULTIPLE_DEVICES listing them (the
 * CLI may then ask which one). No device at all: NO_DEVICE with the checks that usually fix it.
 */
import { IbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import type { MuxDeviceInfo } from '../host/usbmux.js';
import type { HostContext } from './context.js';
import { describeDevice, hostDevice, type DeviceSummary } from './describe.js';

/** A device offered for choice (in MULTIPLE_DEVICES / DEVICE_NOT_FOUND details.devices). */
export interface DeviceChoice {
  udid: string;
  name: string | null;
  model: string | null;
  productType: string | null;
  connection: 'USB' | 'Network';
}

export const NO_DEVICE_REMEDY =
  'Connect the iPhone with a cable that carries data (not a charge-only cable), straight to a USB port ' +
  'on the computer (not through a hub), unlock it and tap "Trust" if it asks. If it still does not ' +
  'show up, try another port, then restart the iPhone and the computer.';

/** UDIDs compare without dashes and case. */
export function sameUdid(a: string, b: string): boolean {
  const norm = (s: string): string => s.replace(/-/g, '').toLowerCase();
  return norm(a) === norm(b);
}

/** One entry per UDID, the USB connection preferred over the network one. */
export function uniqueDevices(list: readonly MuxDeviceInfo[]): MuxDeviceInfo[] {
  const byUdid = new Map<string, MuxDeviceInfo>();
  for (const d of list) {
    const key = d.udid.replace(/-/g, '').toLowerCase();
    const seen = byUdid.get(key);
    if (!seen || (seen.connection === 'Network' && d.connection === 'USB')) byUdid.set(key, d);
  }
  return [...byUdid.values()];
}

function choice(s: DeviceSummary): DeviceChoice {
  return { udid: s.udid, name: s.name, model: s.model, productType: s.productType, connection: s.connection };
}

function listing(choices: readonly DeviceChoice[]): string {
  return choices
    .map((c) => `${c.udid}${c.name === null ? '' : ` "${c.name}"`}${c.model === null ? '' : ` (${c.model})`}`)
    .join(', ');
}

async function choices(
  ctx: HostContext,
  devices: readonly MuxDeviceInfo[],
  signal?: AbortSignal,
): Promise<DeviceChoice[]> {
  const described = await Promise.all(
    devices.map((d) => describeDevice(ctx, d, { checkPaired: false, ...(signal ? { signal } : {}) })),
  );
  return described.map(choice);
}

export function noDeviceError(): IbackupError {
  return new IbackupError('NO_DEVICE', { message: 'No iPhone is connected.', remedy: NO_DEVICE_REMEDY });
}

/**
 * The usbmuxd entry for `wanted` (UDID or name), or the only device. Throws NO_DEVICE,
 * DEVICE_NOT_FOUND or MULTIPLE_DEVICES (details.devices: DeviceChoice[]).
 */
export async function findDevice(ctx: HostContext, wanted?: string, signal?: AbortSignal): Promise<MuxDeviceInfo> {
  const devices = uniqueDevices(await ctx.mux.listDevices());
  if (devices.length === 0) throw noDeviceError();
  const w = wanted?.trim();
  if (w === undefined || w === '') {
    if (devices.length === 1) return devices[0] as MuxDeviceInfo;
    const list = await choices(ctx, devices, signal);
    throw new IbackupError('MULTIPLE_DEVICES', {
      message: `${devices.length} devices are connected: ${listing(list)}.`,
      remedy: 'Choose one with -u UDID or -u "Device Name" (see "ibackup devices").',
      details: { devices: list },
    });
  }
  const byUdid = devices.find((d) => sameUdid(d.udid, w));
  if (byUdid) return byUdid;
  const list = await choices(ctx, devices, signal);
  let named = list.filter((c) => c.name === w);
  if (named.length === 0) named = list.filter((c) => c.name !== null && c.name.toLowerCase() === w.toLowerCase());
  if (named.length > 1) {
    throw new IbackupError('MULTIPLE_DEVICES', {
      message: `${named.length} connected devices are named "${w}": ${listing(named)}.`,
      remedy: 'Choose one by its UDID with -u UDID (see "ibackup devices").',
      details: { devices: named },
    });
  }
  const hit = named[0];
  const info = hit === undefined ? undefined : devices.find((d) => d.udid === hit.udid);
  if (info) return info;
  throw new IbackupError('DEVICE_NOT_FOUND', {
    message: `No connected device has the UDID or name "${w}". Connected: ${listing(list)}.`,
    remedy: 'Check the UDID or name with "ibackup devices", then connect and unlock that iPhone.',
    details: { devices: list },
  });
}

/** Like findDevice, ready to talk to. */
export async function selectDevice(ctx: HostContext, wanted?: string, signal?: AbortSignal): Promise<HostDevice> {
  return hostDevice(ctx, await findDevice(ctx, wanted, signal));
}
