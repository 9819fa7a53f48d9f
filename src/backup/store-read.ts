/**
 * Reading a file of the backup for a download the device asked for. The reads are made on the
 * main thread: the files a device downloads are mostly small and in the page cache, and a queued
 * open, two reads and a close cost more in thread hand-offs than the reads themselves (a restore
 * of 5 000 files made about 25 futex calls per file that way).
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';

/**
 * The bytes of `local` in chunks of at most `max`, each a buffer of its own (the link sends
 * parts without copying them, so none is reused). Each buffer is sized to `sizeHint` (what the
 * path check saw) and filled before it goes: a small file costs one buffer of its own size and
 * two reads (the second finds the end), nothing zeroed or copied. Never follows a link at `local`.
 */
export function* readFileChunks(local: string, sizeHint: number | undefined, max: number): Generator<Uint8Array> {
  const fd = openSync(local, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    let left = sizeHint ?? max;
    for (;;) {
      // One byte more than expected, so the end is found without another buffer.
      const buf = Buffer.allocUnsafe(Math.min(max, left + 1));
      let filled = 0;
      while (filled < buf.length) {
        const n = readSync(fd, buf, filled, buf.length - filled, null);
        if (n === 0) break;
        filled += n;
      }
      if (filled > 0) yield buf.subarray(0, filled);
      if (filled < buf.length) return;
      left = Math.max(0, left - filled);
    }
  } finally {
    closeSync(fd);
  }
}
