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

async function* readChunks(store: BackupStore, path: string): AsyncGenerator<Uint8Array> {
  const fh = await store.openRead(path);
  try {
    const buf = Buffer.alloc(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
      if (bytesRead === 0) return;
      yield Buffer.from(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
}
