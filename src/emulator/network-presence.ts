/**
 * A virtual iPhone as usbmuxd lists it over Wi-Fi: a second entry beside (or instead of) its USB
 * one, with its own DeviceID, ConnectionType "Network", the phone's address as a BSD sockaddr in
 * NetworkAddress (byte 0 its length, byte 1 the family: 0x02 AF_INET), and its Bonjour name in
 * EscapedFullServiceName, as Apple's usbmuxd lists network devices and libusbmuxd reads them
 * (libusbmuxd src/libusbmuxd.c device_record_from_plist; tools/iproxy.c reads family 0x02 /
 * 0x1E from byte 1). Connections made through it pass over the phone's Wi-Fi link.
 */
import type { Duplex } from 'node:stream';
import type { PlistDict } from '../protocol/plist/index.js';
import type { Link } from '../transport/link.js';
import type { VirtualDevice } from './device.js';
import type { MuxDevice } from './usbmuxd-server.js';
import { WifiLink } from './wifi-link.js';

/** lockdownd's port, where a host reaches a phone on the network directly. */
const LOCKDOWN_PORT = 62078;

/** A BSD sockaddr_in: length, family, port (big-endian), IPv4 address, eight zero bytes. */
export function sockaddrIn(ip: readonly [number, number, number, number], port: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 16;
  b[1] = 0x02;
  b[2] = (port >> 8) & 0xff;
  b[3] = port & 0xff;
  b.set(ip, 4);
  return b;
}

export class NetworkPresence implements MuxDevice {
  readonly link: WifiLink;

  constructor(
    /** The phone (replaced by the new object when its USB side is plugged back in). */
    public device: VirtualDevice,
    readonly deviceId: number,
    bytesPerSecond: number,
  ) {
    this.link = new WifiLink(bytesPerSecond);
  }

  get udid(): string {
    return this.device.udid;
  }

  /** The phone's address on the home network (made up from its DeviceID). */
  get ip(): [number, number, number, number] {
    return [192, 168, 1, 100 + (this.deviceId % 150)];
  }

  attachedRecord(): PlistDict {
    const mac = this.device.getValue(undefined, 'WiFiAddress', true);
    const wifiMac = mac.ok && typeof mac.value === 'string' ? mac.value : '00:00:00:00:00:00';
    return {
      MessageType: 'Attached',
      DeviceID: this.deviceId,
      Properties: {
        ConnectionType: 'Network',
        DeviceID: this.deviceId,
        EscapedFullServiceName: `${wifiMac}@${this.ip.join('.')}._apple-mobdev2._tcp.local.`,
        InterfaceIndex: 4,
        NetworkAddress: sockaddrIn(this.ip, LOCKDOWN_PORT),
        SerialNumber: this.udid,
      },
    };
  }

  acceptsPort(port: number): boolean {
    return this.device.acceptsPort(port);
  }

  /** The device side of a connection: over the Wi-Fi link. */
  carry(host: Duplex): Duplex {
    return this.link.carry(host);
  }

  connect(port: number, link: Link): void {
    this.device.connect(port, link);
  }
}
