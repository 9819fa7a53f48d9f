/** springboardservices, device side: app icons (getIconPNGData) as far as backup hosts ask. */
import { deflateSync } from 'node:zlib';
import type { Link } from '../../transport/link.js';
import { servePlistRequests } from './plist-service.js';

export function serveSpringboard(link: Link): void {
  servePlistRequests(link, 'binary', async (msg, channel) => {
    if (msg.command === 'getIconPNGData' && typeof msg.bundleId === 'string')
      await channel.send({ pngData: iconPng(msg.bundleId) });
    else if (msg.command === 'getIconState') await channel.send([]);
    else await channel.send({ Error: 'UnknownCommand' });
  });
}

/** A real 8×8 PNG whose colour depends on the bundle id. */
export function iconPng(bundleId: string): Uint8Array {
  let h = 2166136261;
  for (const c of bundleId) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  const rgb = [h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff];
  const raw = Buffer.alloc(8 * (1 + 8 * 3));
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) raw.set(rgb, y * 25 + 1 + x * 3);
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.from([0, 0, 0, 8, 0, 0, 0, 8, 8, 2, 0, 0, 0]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
