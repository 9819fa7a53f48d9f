/**
 * "Show this iPhone when on Wi-Fi" (`ibackup wifi on|off|status`): lockdown's
 * com.apple.mobile.wireless_lockdown EnableWifiConnections, the value Finder and iTunes set. With
 * it on, a usbmuxd that discovers network devices (Apple's, on macOS and Windows) lists the phone
 * with ConnectionType "Network" and ibackup backs it up with the same pairing as over USB.
 */
import type { HostDevice } from '../host/device.js';

export const WIRELESS_DOMAIN = 'com.apple.mobile.wireless_lockdown';

export interface WifiStatus {
  udid: string;
  wifi: boolean;
  /** How this computer reaches the phone right now. */
  connection: 'USB' | 'Network';
}

export async function wifiStatus(device: HostDevice, signal?: AbortSignal): Promise<WifiStatus> {
  const value = await device.withSession((l) => l.getValue(WIRELESS_DOMAIN, 'EnableWifiConnections'), signal);
  return { udid: device.udid, wifi: value === true, connection: device.info.connection };
}

export async function setWifi(device: HostDevice, on: boolean, signal?: AbortSignal): Promise<WifiStatus> {
  await device.withSession((l) => l.setValue(WIRELESS_DOMAIN, 'EnableWifiConnections', on), signal);
  return wifiStatus(device, signal);
}
