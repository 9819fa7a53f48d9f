/**
 * The phone's photo library over AFC (the media partition: /DCIM, /PhotoData), as export/ reads
 * it: sizes, small whole files (Photos.sqlite and its -wal) and streamed originals.
 */
import type { PhotoFiles } from '../export/photos-files.js';
import type { HostDevice } from '../host/device.js';
import { AFC_SERVICE, AfcClient } from '../host/services/afc.js';

export interface DevicePhotoFiles {
  files: PhotoFiles;
  close(): void;
}

function sizeOf(info: Record<string, string> | null): number | null {
  if (info === null || info['st_ifmt'] !== 'S_IFREG') return null;
  const n = Number(info['st_size']);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** Opens AFC on the device; `close` ends the connection. */
export async function devicePhotoFiles(device: HostDevice, signal?: AbortSignal): Promise<DevicePhotoFiles> {
  const afc = new AfcClient(await device.startService(AFC_SERVICE, signal ? { signal } : {}));
  const files: PhotoFiles = {
    where: 'device',
    size: async (p) => sizeOf(await afc.info(`/${p}`)),
    readSmall: (p, max) => afc.readFile(`/${p}`, max),
    async *chunks(p, abort) {
      for await (const chunk of afc.readStream(`/${p}`)) {
        abort?.throwIfAborted();
        yield chunk;
      }
    },
  };
  return { files, close: () => afc.disconnect() };
}
