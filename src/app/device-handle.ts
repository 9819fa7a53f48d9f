/**
 * The faces' handle on a connected device: the type they pass to the use cases, and which
 * devices usbmuxd lists right now. The faces reach the host layer only through app/.
 */
import type { HostContext } from './context.js';

export type { HostDevice } from '../host/device.js';

/** usbmuxd's numbers of the device connections it lists now. */
export async function connectedDeviceIds(ctx: HostContext): Promise<number[]> {
  return (await ctx.mux.listDevices()).map((d) => d.deviceId);
}
