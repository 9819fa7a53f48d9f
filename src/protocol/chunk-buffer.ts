/**
 * Bytes received in chunks, read from the front. Views are returned when the bytes lie in one
 * chunk; a copy is made only across chunk boundaries, and only for a size the caller checked.
 */
export class ChunkBuffer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** The first n bytes without removing them (n <= length). */
  peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.chunks) {
      if (at === n) break;
      const take = Math.min(c.length, n - at);
      out.set(c.subarray(0, take), at);
      at += take;
    }
    return out;
  }

  /** Removes and returns the first n bytes (n <= length). */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  skip(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0];
      if (c === undefined) break;
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.size -= n - left;
  }

  /** Removes and returns everything buffered. */
  takeAll(): Uint8Array {
    return this.take(this.size);
  }
}
