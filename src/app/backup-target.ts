/** The backup store as the mobilebackup2 client's target: every device path goes through it. */
import type { BackupStore } from '../backup/store.js';
import type { BackupTarget, TargetFile } from '../host/services/mobilebackup2.js';

const READ_CHUNK = 1024 * 1024;

export function storeTarget(store: BackupStore): BackupTarget {
  return {
    createFile: async (path): Promise<TargetFile> => store.createFile(path),
    readFile: (path) => readChunks(store, path),
    mkdirp: (path) => store.mkdirp(path),
    move: (from, to) => store.move(from, to),
    remove: (path) => store.remove(path),
    copy: (from, to) => store.copy(from, to),
    list: (path) => store.list(path),
    freeSpace: () => store.freeSpace(),
  };
}

/**
 * A file's bytes for the device, in chunks of at most READ_CHUNK, each a buffer of its own
 * (the link sends parts without copying them, so none is reused). Each buffer is sized to what
 * the path check saw of the file and filled before it goes: a small file costs one buffer of
 * its own size and two reads (the second finds the end), with nothing zeroed or copied.
 */
async function* readChunks(store: BackupStore, path: string): AsyncGenerator<Uint8Array> {
  const { handle, size } = await store.openRead(path);
  try {
    let left = size ?? READ_CHUNK;
    for (;;) {
      // One byte more than expected, so the end is found without another buffer.
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, left + 1));
      let filled = 0;
      while (filled < buf.length) {
        const { bytesRead } = await handle.read(buf, filled, buf.length - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled > 0) yield buf.subarray(0, filled);
      if (filled < buf.length) return;
      left = Math.max(0, left - filled);
    }
  } finally {
    await handle.close();
  }
}
