/** Writing one file of a backup for the store. */
import { close, writev } from 'node:fs';
import { unwritten, type FsLayer } from './fs-layer.js';

const WRITE_BUFFER = 1024 * 1024;

/**
 * Writes one file under a temporary name, renamed into place on commit — or under its final name
 * when `tmp` is `path` (the file-system layer made it marked unfinished: marked finished on
 * commit). The file is created as soon as it starts (by the store's file-system layer). A file that stays under
 * WRITE_BUFFER bytes (most of a backup's) is kept in memory and written whole at commit; a larger
 * one is written as it arrives, a megabyte at a time.
 */
export class StoreFileWriter {
  private buf: Uint8Array[] = [];
  private buffered = 0;
  private size = 0;
  /** Set once the file outgrew WRITE_BUFFER: written as it arrives from then on. */
  private streaming = false;
  /** The descriptor was closed (its number may already name another file: never close it again). */
  private closed = false;

  constructor(
    private readonly fs: FsLayer,
    private readonly fd: Promise<number>,
    private readonly tmp: string,
    readonly path: string,
    private readonly onCommit: (path: string, bytes: number) => void,
  ) {
    fd.catch(() => undefined); // its failure is reported by the write or commit that awaits it
  }

  get bytes(): number {
    return this.size;
  }

  /** Bytes given to `write` and kept in memory until the next gathered write. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds bytes to the file. The chunk is kept, not copied: it must not change afterwards. */
  async write(chunk: Uint8Array): Promise<void> {
    this.size += chunk.length;
    if (chunk.length === 0) return;
    this.buf.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered >= WRITE_BUFFER) await this.drain();
  }

  /** Writes what is buffered in one gathered write (no concatenation: no fresh megabyte to fault in). */
  private async drain(): Promise<void> {
    this.streaming = true;
    if (this.buffered === 0) return;
    const parts = this.buf;
    this.buf = [];
    this.buffered = 0;
    await writeAll(await this.fd, parts);
  }

  /** Finishes the file: writes what is left, closes it and renames it into place. */
  async commit(): Promise<void> {
    const fd = await this.fd;
    if (!this.streaming) {
      this.closed = true; // whatever happens, finishSmallFile closes it
      this.fs.finishSmallFile(fd, this.tmp, this.buf, this.path);
      this.buf = [];
    } else {
      await this.drain();
      if (this.tmp === this.path) this.fs.markFinished(fd);
      this.closed = true;
      await closeFd(fd);
      if (this.tmp !== this.path) await this.fs.rename(this.tmp, this.path);
    }
    this.onCommit(this.path, this.size);
  }

  /** Drops the unfinished file. */
  async abort(): Promise<void> {
    const fd = await this.fd.catch(() => undefined);
    if (fd === undefined) return;
    if (!this.closed) {
      this.closed = true;
      await closeFd(fd).catch(() => undefined);
    }
    await this.fs.rm(this.tmp, { force: true });
  }
}

/** Writes every part in order, going on after a short write (allowed for files, if rare). */
async function writeAll(fd: number, parts: Uint8Array[]): Promise<void> {
  let rest = parts;
  while (rest.length > 0) {
    const n = await new Promise<number>((done, fail) =>
      writev(fd, rest, (err, written) => (err ? fail(err) : done(written))),
    );
    rest = unwritten(rest, n);
  }
}

function closeFd(fd: number): Promise<void> {
  return new Promise((done, fail) => close(fd, (err) => (err ? fail(err) : done())));
}
