/**
 * The files of one DownloadFiles request, read a few files ahead of the one being sent: the
 * device asks for up to a few hundred files at once and waits for each in turn, so opening the
 * next files and reading their first chunk while the current one goes out hides the disk's
 * (and the thread pool's) latency per file. Each file is still read through the BackupTarget,
 * with its path checks, and sent whole and in order.
 */
import type { BackupTarget } from './mobilebackup2-target.js';

/** Files opened ahead of the one being sent (each holds at most its first chunk). */
export const FILES_AHEAD = 8;

interface Started {
  it: AsyncIterator<Uint8Array>;
  first: Promise<IteratorResult<Uint8Array>>;
}

export class ReadAhead {
  private readonly started = new Map<number, Started>();

  constructor(
    private readonly target: BackupTarget,
    private readonly paths: readonly string[],
  ) {}

  /** The chunks of the `i`-th file; starts reading the files after it. */
  async *chunks(i: number): AsyncGenerator<Uint8Array> {
    for (let j = i; j < Math.min(this.paths.length, i + 1 + FILES_AHEAD); j++) this.start(j);
    const s = this.started.get(i) as Started;
    this.started.delete(i);
    let r = await s.first;
    try {
      while (r.done !== true) {
        yield r.value;
        r = await s.it.next();
      }
    } finally {
      if (r.done !== true) await s.it.return?.();
    }
  }

  /** Closes the files opened ahead and not sent (the request stopped). */
  async close(): Promise<void> {
    const left = [...this.started.values()];
    this.started.clear();
    await Promise.all(
      left.map((s) =>
        s.first
          .then(
            () => s.it.return?.(),
            () => undefined,
          )
          .catch(() => undefined),
      ),
    );
  }

  private start(j: number): void {
    if (this.started.has(j) || j >= this.paths.length) return;
    const it = this.target.readFile(this.paths[j] as string)[Symbol.asyncIterator]();
    const first = it.next();
    first.catch(() => undefined); // a failure is reported when the file's turn comes
    this.started.set(j, { it, first });
  }
}
