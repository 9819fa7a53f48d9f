/** AFC client: the sync lock, small reads of the media partition and the small writes of a restore. */
import {
  AfcDecoder,
  AfcOp,
  AfcStatus,
  afcStatusName,
  decodeAfcKeyValues,
  decodeAfcU64,
  encodeAfcFileLock,
  encodeAfcFileOpen,
  encodeAfcFileRead,
  encodeAfcPacket,
  encodeAfcPath,
  encodeAfcU64,
  type AfcPacket,
} from '../../protocol/afc.js';
import { IbackupError } from '../../errors.js';
import type { Link } from '../../transport/link.js';

export const AFC_SERVICE = 'com.apple.afc';
export const SYNC_LOCK_FILE = '/com.apple.itunes.lock_sync';
const WRITE_CHUNK = 1024 * 1024;

export class AfcError extends IbackupError {}

export class AfcClient {
  private readonly decoder = new AfcDecoder();
  private packetNum = 1;
  private waiting: { resolve: (p: AfcPacket) => void; reject: (e: Error) => void } | undefined;
  private queue = Promise.resolve();
  private failure: Error | undefined;

  constructor(
    private readonly link: Link,
    private readonly timeoutMs = 10_000,
  ) {
    link.on('data', (chunk: Buffer) => {
      try {
        for (const p of this.decoder.push(chunk)) this.waiting?.resolve(p);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    link.on('end', () => this.fail(new IbackupError('CONNECTION_CLOSED')));
    link.on('error', (err) => this.fail(err)); // a pulled cable: pending and later requests fail
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.waiting?.reject(err);
  }

  /** One request and its reply, strictly in turn. */
  private request(operation: number, headerPayload?: Uint8Array, payload?: Uint8Array): Promise<AfcPacket> {
    const run = async (): Promise<AfcPacket> => {
      if (this.failure) throw this.failure;
      const num = this.packetNum++;
      const reply = new Promise<AfcPacket>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new IbackupError('TIMEOUT', { message: 'The iPhone did not answer an AFC request.' })),
          this.timeoutMs,
        );
        this.waiting = {
          resolve: (p) => {
            clearTimeout(timer);
            resolve(p);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
      });
      reply.catch(() => undefined); // when the write fails, the reply is never awaited
      await this.link.write(
        encodeAfcPacket({
          packetNum: num,
          operation,
          ...(headerPayload ? { headerPayload } : {}),
          ...(payload ? { payload } : {}),
        }),
      );
      const p = await reply;
      this.waiting = undefined;
      if (p.packetNum !== num)
        throw new IbackupError('PROTOCOL_DECODE', { message: 'The iPhone answered another AFC request.' });
      return p;
    };
    const next = this.queue.then(run, run);
    this.queue = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private static check(p: AfcPacket, what: string): void {
    if (p.operation !== AfcOp.Status) return;
    const code = decodeAfcU64(p.body, 'status');
    if (code !== AfcStatus.Success) {
      throw new AfcError('DEVICE_ERROR', {
        message: `${what} failed on the iPhone (${afcStatusName(code) ?? code}).`,
        details: { afcStatus: code },
      });
    }
  }

  async open(path: string, mode: number): Promise<number> {
    const p = await this.request(AfcOp.FileOpen, encodeAfcFileOpen(mode, path));
    AfcClient.check(p, `Opening ${path}`);
    return decodeAfcU64(p.body, 'file handle');
  }

  /** true when locked; false when another computer holds it (would block). */
  async lock(handle: number, op: number): Promise<boolean> {
    const p = await this.request(AfcOp.FileLock, encodeAfcFileLock(handle, op));
    if (p.operation === AfcOp.Status && decodeAfcU64(p.body, 'status') === AfcStatus.OpWouldBlock) return false;
    AfcClient.check(p, 'Locking');
    return true;
  }

  async close(handle: number): Promise<void> {
    AfcClient.check(await this.request(AfcOp.FileClose, encodeAfcU64(handle)), 'Closing');
  }

  /** File info, or null when the file does not exist. */
  async info(path: string): Promise<Record<string, string> | null> {
    const p = await this.request(AfcOp.GetFileInfo, encodeAfcPath(path));
    if (p.operation === AfcOp.Status && decodeAfcU64(p.body, 'status') === AfcStatus.ObjectNotFound) return null;
    AfcClient.check(p, `Reading ${path}`);
    return decodeAfcKeyValues(p.body);
  }

  /** Reads a small whole file (bounded), or null when it does not exist. */
  async readFile(path: string, max = 16 * 1024 * 1024): Promise<Uint8Array | null> {
    const st = await this.info(path);
    if (!st || st.st_ifmt !== 'S_IFREG') return null;
    const h = await this.open(path, 1);
    try {
      const parts: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        const p = await this.request(AfcOp.FileRead, encodeAfcFileRead(h, 1024 * 1024));
        AfcClient.check(p, `Reading ${path}`);
        if (p.body.length === 0) break;
        parts.push(Uint8Array.from(p.body));
        total += p.body.length;
        if (total > max)
          throw new IbackupError('PROTOCOL_DECODE', { message: `${path} on the iPhone is larger than expected.` });
      }
      return Buffer.concat(parts);
    } finally {
      await this.close(h).catch(() => undefined);
    }
  }

  /** Streams a whole file in reads of `chunk` bytes; its handle is closed at the end, on error or when the reader stops. */
  async *readStream(path: string, chunk = 1024 * 1024): AsyncGenerator<Uint8Array> {
    const h = await this.open(path, 1);
    try {
      for (;;) {
        const p = await this.request(AfcOp.FileRead, encodeAfcFileRead(h, chunk));
        AfcClient.check(p, `Reading ${path}`);
        if (p.body.length === 0) return;
        yield Uint8Array.from(p.body);
      }
    } finally {
      await this.close(h).catch(() => undefined);
    }
  }

  /** Creates a folder (and its parents); no error when it exists. */
  async makeDir(path: string): Promise<void> {
    AfcClient.check(await this.request(AfcOp.MakeDir, encodeAfcPath(path)), `Creating ${path}`);
  }

  /** Writes a whole small file (created or truncated: mode 4, "w+"), in 1 MiB writes. */
  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const h = await this.open(path, 4);
    try {
      for (let at = 0; at < data.length; at += WRITE_CHUNK) {
        const p = await this.request(AfcOp.FileWrite, encodeAfcU64(h), data.subarray(at, at + WRITE_CHUNK));
        AfcClient.check(p, `Writing ${path}`);
      }
    } finally {
      await this.close(h).catch(() => undefined);
    }
  }

  /** Removes a file or an empty folder; no error when it is not there. */
  async remove(path: string): Promise<void> {
    const p = await this.request(AfcOp.RemovePath, encodeAfcPath(path));
    if (p.operation === AfcOp.Status && decodeAfcU64(p.body, 'status') === AfcStatus.ObjectNotFound) return;
    AfcClient.check(p, `Removing ${path}`);
  }

  /** Ends the AFC connection. */
  disconnect(): void {
    this.link.close();
  }
}
