/**
 * Produces a file's bytes on demand, in chunks, from its identity: nothing but small blobs, a few
 * recent photos and restored bytes is ever held in memory.
 */
import { createHash } from 'node:crypto';
import { IbackupError } from '../../errors.js';
import type { ContentState } from './entries.js';
import { mediaHeader } from './media.js';
import { entryKey, type DeviceEntry } from './model.js';
import { photoPlan, renderPhoto } from './photos.js';
import { CHUNK_SIZE, keyedStream, streamKey } from './random.js';
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

function* slices(bytes: Uint8Array, offset: number, length: number, chunkSize: number): Generator<Uint8Array> {
  for (let at = offset; at < offset + length; at += chunkSize) yield bytes.slice(at, Math.min(offset + length, at + chunkSize));
}

export class ContentReader {
  private readonly photos = new Map<string, Uint8Array>();
  private readonly digests = new Map<string, Uint8Array>();

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
    const header = mediaHeader(e.relativePath, e.size);
    let at = offset;
    for (const chunk of keyedStream(streamKey(this.st.seed, e.domain, e.relativePath, e.version), offset, length, chunkSize)) {
      if (at < header.length) chunk.set(header.subarray(at, Math.min(header.length, at + chunk.length)), 0);
      at += chunk.length;
      yield chunk;
    }
  }

  /** The bytes of a file, streamed in chunks (a fresh buffer each). */
  async *open(e: DeviceEntry, options: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    const offset = options.offset ?? 0;
    const chunkSize = Math.max(1, Math.min(options.chunkSize ?? CHUNK_SIZE, CHUNK_SIZE));
    if (e.kind !== 'file') return;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > e.size) {
      throw new IbackupError('INTERNAL', { message: `Offset ${offset} is outside ${e.relativePath} (${e.size} bytes).` });
    }
    const length = Math.max(0, Math.min(options.length ?? e.size - offset, e.size - offset));
    if (length === 0) return;
    const key = entryKey(e.domain, e.relativePath);
    switch (e.source) {
      case 'noise':
        yield* this.noise(e, offset, length, chunkSize);
        return;
      case 'photo':
        yield* slices(this.photo(e), offset, length, chunkSize);
        return;
      case 'blob': {
        const bytes = this.st.blobs.get(key);
        if (bytes === undefined) throw new IbackupError('INTERNAL', { message: `No bytes for ${e.domain} ${e.relativePath}.` });
        yield* slices(bytes, offset, length, chunkSize);
        return;
      }
      case 'override': {
        const id = this.st.overrideIds.get(key);
        if (id === undefined) throw new IbackupError('INTERNAL', { message: `No restored bytes for ${e.domain} ${e.relativePath}.` });
        yield* this.overrides.stream(id, offset, length, chunkSize);
        return;
      }
      case 'none':
        return;
    }
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
