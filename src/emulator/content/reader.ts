/**
 * Produces a file's bytes on demand, in chunks, from its identity: nothing but small blobs, a few
 * recent photos, the seed's noise pool and restored bytes is ever held in memory.
 *
 * A generated ('noise') file is its format header, a 16-byte id drawn from (seed, domain, path,
 * version) so that no two files or versions are alike, then a run of the seed's noise pool from an
 * offset drawn the same way (wrapping around for files larger than the pool). Its chunks are views
 * of the shared pool, so streaming one allocates nothing.
 */
import { createHash } from 'node:crypto';
import { IbackupError } from '../../errors.js';
import type { ContentState } from './entries.js';
import { mediaHeader } from './media.js';
import { entryKey, type DeviceEntry } from './model.js';
import { photoPlan, renderPhoto } from './photos.js';
import { CHUNK_SIZE, POOL_BYTES, Rng, hash32, noisePool } from './random.js';
import type { OverrideStore } from './store.js';

export interface ReadOptions {
  offset?: number;
  /** Bytes to read (default: to the end of the file). */
  length?: number;
  /** Largest chunk yielded (default 1 MiB). */
  chunkSize?: number;
}

const PHOTO_CACHE = 16;
const DIGEST_CACHE = 50_000;

/** Bytes of the id that makes each generated file unique. */
const ID_BYTES = 16;

/** A generated file's first bytes (format header, then its id) and where its run of the pool starts. */
export function noisePlan(seed: number, e: DeviceEntry): { head: Uint8Array; start: number } {
  const media = mediaHeader(e.relativePath, e.size);
  const a = new Rng(hash32(seed, 'noise', e.domain, e.relativePath, e.version));
  const b = new Rng(hash32(seed, 'noise-id', e.domain, e.relativePath, e.version));
  const head = new Uint8Array(Math.min(e.size, media.length + ID_BYTES));
  head.set(media.subarray(0, head.length));
  // The id: four 32-bit words, little-endian, cut short where the file ends.
  const words = [a.next(), a.next(), b.next(), b.next()];
  for (let i = media.length; i < head.length; i++) {
    const k = i - media.length;
    head[i] = ((words[k >> 2] as number) >>> (8 * (k & 3))) & 0xff;
  }
  return { head, start: a.next() % POOL_BYTES };
}

function* slices(bytes: Uint8Array, offset: number, length: number, chunkSize: number): Generator<Uint8Array> {
  for (let at = offset; at < offset + length; at += chunkSize)
    yield bytes.subarray(at, Math.min(offset + length, at + chunkSize));
}

export class ContentReader {
  private readonly photos = new Map<string, Uint8Array>();
  private readonly digests = new Map<string, Uint8Array>();
  /** The seed's noise pool, made on the first read of a generated file and kept while this lives. */
  private pool: Uint8Array | undefined;

  constructor(
    private readonly st: ContentState,
    private readonly overrides: OverrideStore,
  ) {}

  private photo(e: DeviceEntry): Uint8Array {
    const key = `${entryKey(e.domain, e.relativePath)}\u0000${e.version}`;
    let bytes = this.photos.get(key);
    if (bytes === undefined) {
      const plan = photoPlan(this.st.seed, e.domain, e.relativePath, e.version, this.st.maxSide);
      bytes = renderPhoto(this.st.seed, e.domain, e.relativePath, e.version, plan);
      if (this.photos.size >= PHOTO_CACHE) {
        const oldest = this.photos.keys().next().value;
        if (oldest !== undefined) this.photos.delete(oldest);
      }
    } else {
      this.photos.delete(key);
    }
    this.photos.set(key, bytes);
    return bytes;
  }

  private *noise(e: DeviceEntry, offset: number, length: number, chunkSize: number): Generator<Uint8Array> {
    const { head, start } = noisePlan(this.st.seed, e);
    const pool = (this.pool ??= noisePool(this.st.seed));
    const end = offset + length;
    let at = offset;
    while (at < end) {
      if (at < head.length) {
        const n = Math.min(head.length, end, at + chunkSize) - at;
        yield head.subarray(at, at + n);
        at += n;
        continue;
      }
      const p = (start + at) % POOL_BYTES;
      const n = Math.min(end - at, chunkSize, POOL_BYTES - p);
      yield pool.subarray(p, p + n);
      at += n;
    }
  }

  /**
   * The bytes of a file, streamed in chunks. Chunks are read-only: they may be views of shared
   * memory (the noise pool, a cached photo or blob) and must never be written to.
   */
  async *open(e: DeviceEntry, options: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    const inMemory = this.openInMemory(e, options);
    if (inMemory !== undefined) {
      yield* inMemory;
      return;
    }
    const { offset, length, chunkSize } = this.range(e, options);
    if (length === 0) return;
    const id = this.st.overrideIds.get(entryKey(e.domain, e.relativePath));
    if (id === undefined)
      throw new IbackupError('INTERNAL', { message: `No restored bytes for ${e.domain} ${e.relativePath}.` });
    yield* this.overrides.stream(id, offset, length, chunkSize);
  }

  /**
   * The same chunks without a promise per chunk, for every file whose bytes are made in memory
   * (generated, photo, blob, empty); undefined for restored bytes, which are read from disk.
   */
  openInMemory(e: DeviceEntry, options: ReadOptions = {}): Iterable<Uint8Array> | undefined {
    if (e.kind !== 'file') return [];
    if (e.source === 'override') return undefined;
    const { offset, length, chunkSize } = this.range(e, options);
    if (length === 0) return [];
    switch (e.source) {
      case 'noise':
        return this.noise(e, offset, length, chunkSize);
      case 'photo':
        return slices(this.photo(e), offset, length, chunkSize);
      case 'blob': {
        const bytes = this.st.blobs.get(entryKey(e.domain, e.relativePath));
        if (bytes === undefined)
          throw new IbackupError('INTERNAL', { message: `No bytes for ${e.domain} ${e.relativePath}.` });
        return slices(bytes, offset, length, chunkSize);
      }
      case 'none':
        return [];
    }
  }

  /** The part of a file asked for, checked. */
  private range(e: DeviceEntry, options: ReadOptions): { offset: number; length: number; chunkSize: number } {
    const offset = options.offset ?? 0;
    const chunkSize = Math.max(1, Math.min(options.chunkSize ?? CHUNK_SIZE, CHUNK_SIZE));
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > e.size) {
      throw new IbackupError('INTERNAL', {
        message: `Offset ${offset} is outside ${e.relativePath} (${e.size} bytes).`,
      });
    }
    const length = Math.max(0, Math.min(options.length ?? e.size - offset, e.size - offset));
    return { offset, length, chunkSize };
  }

  /** `length` bytes from `offset` (fewer at the end of the file), in one buffer. */
  async read(e: DeviceEntry, offset: number, length: number): Promise<Uint8Array> {
    const n = Math.max(0, Math.min(length, e.size - offset));
    const out = new Uint8Array(n);
    let at = 0;
    for await (const chunk of this.open(e, { offset, length: n })) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** SHA-1 of a file's bytes, computed by streaming them once and remembered. */
  async digest(e: DeviceEntry): Promise<Uint8Array> {
    const key = entryKey(e.domain, e.relativePath);
    if (e.source === 'override') {
      const id = this.st.overrideIds.get(key);
      if (id !== undefined) return Uint8Array.from(Buffer.from(id, 'hex'));
    }
    const cacheKey = `${key}\u0000${e.version}\u0000${e.source}\u0000${e.size}`;
    const known = this.digests.get(cacheKey);
    if (known !== undefined) return known.slice();
    const hash = createHash('sha1');
    for await (const chunk of this.open(e)) hash.update(chunk);
    const digest = new Uint8Array(hash.digest());
    if (this.digests.size >= DIGEST_CACHE) this.digests.clear();
    this.digests.set(cacheKey, digest);
    return digest.slice();
  }
}
