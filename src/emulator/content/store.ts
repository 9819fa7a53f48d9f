/**
 * Where bytes written onto the device (by a restore) are kept: in memory, or content-addressed
 * files (named by SHA-1) in a folder of the emulator's state, which survive a restart.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IbackupError } from '../../errors.js';
import { concatBytes } from '../../protocol/bytes.js';

export interface OverrideStore {
  /** Whether the bytes survive a restart of the emulator. */
  readonly persistent: boolean;
  /** Keeps bytes; returns their id (SHA-1, hex) and size. */
  put(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<{ id: string; size: number }>;
  has(id: string): Promise<boolean>;
  /** Bytes of a kept item from `offset`, in chunks of at most `chunkSize`. */
  stream(id: string, offset: number, length: number, chunkSize: number): AsyncIterable<Uint8Array>;
}

function missing(id: string): IbackupError {
  return new IbackupError('INTERNAL', {
    message: `Restored content ${id} is missing from the device's store.`,
    details: { id },
  });
}

async function* chunksOf(data: Uint8Array | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (data instanceof Uint8Array) yield data;
  else yield* data;
}

export function memoryOverrideStore(): OverrideStore {
  const items = new Map<string, Uint8Array>();
  return {
    persistent: false,
    async put(data) {
      const parts: Uint8Array[] = [];
      const hash = createHash('sha1');
      let size = 0;
      for await (const chunk of chunksOf(data)) {
        parts.push(chunk.slice());
        hash.update(chunk);
        size += chunk.length;
      }
      const bytes = concatBytes(parts, size);
      const id = hash.digest('hex');
      items.set(id, bytes);
      return { id, size };
    },
    async has(id) {
      return items.has(id);
    },
    async *stream(id, offset, length, chunkSize) {
      const bytes = items.get(id);
      if (bytes === undefined) throw missing(id);
      const end = Math.min(bytes.length, offset + length);
      for (let at = offset; at < end; at += chunkSize) yield bytes.slice(at, Math.min(end, at + chunkSize));
    },
  };
}

export function folderOverrideStore(folder: string): OverrideStore {
  const pathOf = (id: string): string => {
    if (!/^[0-9a-f]{40}$/.test(id)) throw missing(id);
    return join(folder, id);
  };
  return {
    persistent: true,
    put: (data) => putInFolder(folder, data, pathOf),
    async has(id) {
      try {
        return (await stat(pathOf(id))).isFile();
      } catch {
        return false;
      }
    },
    stream: (id, offset, length, chunkSize) => streamFile(pathOf, id, offset, length, chunkSize),
  };
}

/** Writes the bytes to a temporary file, then renames it to their SHA-1. */
async function putInFolder(
  folder: string,
  data: Uint8Array | AsyncIterable<Uint8Array>,
  pathOf: (id: string) => string,
): Promise<{ id: string; size: number }> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const temp = join(folder, `.incoming-${randomBytes(8).toString('hex')}`);
  const hash = createHash('sha1');
  let size = 0;
  const file = await open(temp, 'w', 0o600);
  try {
    for await (const chunk of chunksOf(data)) {
      hash.update(chunk);
      size += chunk.length;
      await file.write(chunk);
    }
  } catch (cause) {
    await file.close();
    await rm(temp, { force: true });
    throw cause;
  }
  await file.close();
  const id = hash.digest('hex');
  await rename(temp, pathOf(id));
  return { id, size };
}

/** The bytes of a kept file from `offset`, read a chunk at a time. */
async function* streamFile(
  pathOf: (id: string) => string,
  id: string,
  offset: number,
  length: number,
  chunkSize: number,
): AsyncGenerator<Uint8Array> {
  let file;
  try {
    file = await open(pathOf(id), 'r');
  } catch (cause) {
    throw new IbackupError('INTERNAL', {
      message: `Restored content ${id} cannot be read.`,
      cause,
      details: { id },
    });
  }
  try {
    let at = offset;
    const end = offset + length;
    while (at < end) {
      const buffer = new Uint8Array(Math.min(chunkSize, end - at));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
      at += bytesRead;
    }
  } finally {
    await file.close();
  }
}
