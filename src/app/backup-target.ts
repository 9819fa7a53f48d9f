/** The backup store as the mobilebackup2 client's target: every device path goes through it. */
import type { BackupStore } from '../backup/store.js';
import type { BackupTarget, TargetFile } from '../host/services/mobilebackup2.js';

const READ_CHUNK = 1024 * 1024;

export function storeTarget(store: BackupStore): BackupTarget {
  return {
    createFile: async (path): Promise<TargetFile> => store.createFile(path),
    readFile: (path) => store.readChunks(path, READ_CHUNK),
    mkdirp: (path) => store.mkdirp(path),
    move: (from, to) => store.move(from, to),
    remove: (path) => store.remove(path),
    copy: (from, to) => store.copy(from, to),
    list: (path) => store.list(path),
    freeSpace: () => store.freeSpace(),
  };
}
