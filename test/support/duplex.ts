/**
 * A scripted device for testing the host's clients without sockets: an in-memory connection (two
 * Duplex ends; what one writes, the other reads) and a device end that decodes what the host sends
 * and answers with its bytes cut as the test asks — whole, split at an offset, one byte at a time —
 * each piece delivered in its own turn of the event loop, so the client sees every partial read.
 */
import { Duplex } from 'node:stream';

/** One end of an in-memory connection. */
class MemoryEnd extends Duplex {
  peer: MemoryEnd | undefined;

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.peer?.push(chunk);
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.peer?.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    // The other end sees the connection end, as a socket's peer does.
    if (peer && !peer.readableEnded) peer.push(null);
    done(err);
  }
}

/** A connected pair: the host's end (for a Link) and the device's end. */
export function memoryConnection(): { host: Duplex; device: Duplex } {
  const host = new MemoryEnd();
  const device = new MemoryEnd();
  host.peer = device;
  device.peer = host;
  return { host, device };
}

/** How the device cuts the bytes of one `send` into the pieces the host reads. */
export interface Cut {
  readonly name: string;
  pieces(bytes: Uint8Array): Uint8Array[];
}

export const whole: Cut = { name: 'whole', pieces: (b) => [b] };

export const oneByteAtATime: Cut = {
  name: 'one byte at a time',
  pieces: (b) => Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1)),
};

/** Split in two at `offset` (the end when the bytes are shorter). */
export function splitAt(offset: number): Cut {
  return {
    name: `split at ${offset}`,
    pieces: (b) => {
      const n = Math.min(offset, b.length);
      return [b.subarray(0, n), b.subarray(n)];
    },
  };
}

/** Whole, split at every offset up to `longest` (the longest send of the script), one byte at a time. */
export function everyCut(longest: number): Cut[] {
  return [whole, ...Array.from({ length: longest + 1 }, (_, n) => splitAt(n)), oneByteAtATime];
}

/** A decoder of what the host sends (the protocol codecs' incremental `push`). */
export interface Decoder<T> {
  push(chunk: Uint8Array): T[];
}

/** The device's end of a connection, run by a test script. */
export class ScriptedDevice<T> {
  private readonly received: T[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private ended = false;

  constructor(
    readonly end: Duplex,
    decoder: Decoder<T>,
    private readonly cut: Cut = whole,
  ) {
    end.on('data', (chunk: Buffer) => {
      try {
        this.received.push(...decoder.push(chunk));
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
      }
      this.wake?.();
    });
    end.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    end.on('error', (err) => {
      this.failure ??= err;
      this.wake?.();
    });
  }

  /** The host's next message; fails when none comes within `timeoutMs` or the host hung up. */
  async receive(timeoutMs = 5_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const next = this.received.shift();
      if (next !== undefined) return next;
      if (this.failure) throw this.failure;
      if (this.ended) throw new Error('the host closed the connection');
      const left = until - Date.now();
      if (left <= 0) throw new Error(`the host sent nothing within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  /** True once the host closed its end. */
  get hostClosed(): boolean {
    return this.ended;
  }

  /** Sends `parts` as one byte sequence, cut by this device's cut, one piece per turn of the event loop. */
  async send(...parts: Uint8Array[]): Promise<void> {
    const bytes = Buffer.concat(parts);
    for (const piece of this.cut.pieces(bytes)) {
      await new Promise((resolve) => setImmediate(resolve));
      if (piece.length > 0 && !this.end.destroyed) this.end.write(piece);
    }
  }

  /** Ends the device's side (the host reads the end of the stream). */
  close(): void {
    this.end.end();
  }
}

/**
 * Runs the host's side and the device's script together: resolves when both are done, rejects with
 * the first failure of either (a script that fails does not leave the host waiting for its time limit).
 */
export async function together(host: Promise<unknown>, device: Promise<unknown>): Promise<void> {
  host.catch(() => undefined);
  device.catch(() => undefined);
  await Promise.all([host, device]);
}
