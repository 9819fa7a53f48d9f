/**
 * `ibackup devices`: the connected devices with name, model, iOS and whether this computer is
 * trusted; `--watch`: attach, detach and pairing events as they happen.
 */
import type { MuxDeviceInfo } from '../host/usbmux.js';
import type { HostContext } from './context.js';
import { describeDevice, unknownDevice, type DeviceSummary } from './describe.js';

export type { DeviceSummary } from './describe.js';

export interface DevicesResult {
  devices: DeviceSummary[];
}

/** Every device usbmuxd lists (USB and network entries both), described in parallel. */
export async function listDevices(ctx: HostContext, signal?: AbortSignal): Promise<DevicesResult> {
  const list = await ctx.mux.listDevices();
  const devices = await Promise.all(list.map((d) => describeDevice(ctx, d, signal ? { signal } : {})));
  return { devices };
}

/** One line of `devices --watch`. For a detach, `device` is what was known when it was attached. */
export interface DeviceEvent {
  event: 'attached' | 'detached' | 'paired';
  device: DeviceSummary;
}

/**
 * Follows hotplug until `signal` aborts (resolves) or usbmuxd goes away (rejects with
 * USBMUXD_UNREACHABLE). Devices already connected are reported as attached first. Events are
 * delivered in the order usbmuxd sent them, each after its device was described.
 */
export async function watchDevices(
  ctx: HostContext,
  onEvent: (e: DeviceEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const known = new Map<number, DeviceSummary>();
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (job: () => Promise<DeviceEvent | undefined>): void => {
    queue = queue.then(async () => {
      const e = await job();
      if (e && !signal?.aborted) onEvent(e);
    });
  };
  const infos = new Map<number, MuxDeviceInfo>();
  await ctx.mux.listen((e) => {
    if (e.type === 'attached') {
      infos.set(e.device.deviceId, e.device);
      known.set(e.device.deviceId, unknownDevice(e.device));
      enqueue(async () => {
        const s = await describeDevice(ctx, e.device, signal ? { signal } : {});
        if (infos.has(e.device.deviceId)) known.set(e.device.deviceId, s);
        return { event: 'attached', device: s };
      });
    } else if (e.type === 'detached') {
      enqueue(async () => {
        const s = known.get(e.deviceId);
        known.delete(e.deviceId);
        infos.delete(e.deviceId);
        return s ? { event: 'detached', device: s } : undefined;
      });
    } else {
      enqueue(async () => {
        const info = infos.get(e.deviceId);
        if (!info) return undefined;
        const s = await describeDevice(ctx, info, signal ? { signal } : {});
        known.set(e.deviceId, s);
        return { event: 'paired', device: s };
      });
    }
  }, signal);
  await queue;
}
