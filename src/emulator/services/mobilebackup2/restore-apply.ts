/**
 * Putting a backup onto the device: the rows it restores (system domains only when asked), a free
 * space check, folders and links, then the files fetched from the computer in batches — each one
 * streamed into a private staging file (decrypted on the way when the backup is encrypted) and
 * then written into the device's content with its recorded metadata. Only the bytes the computer
 * sent end up on the device. Last, what the backup does not hold is removed when asked.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { aesUnwrap } from '../../../protocol/crypto.js';
import { parseClassWrappedKey } from '../../../protocol/keybag.js';
import { decodeMBFile, type MBFile } from '../../../protocol/nskeyed.js';
import { entryKey, type DeviceContent, type WriteMeta } from '../../content/index.js';
import { ensurePrivateDir } from '../../state-files.js';
import type { DownloadSink, HostFiles } from './host-files.js';
import type { Mb2Result } from './index.js';
import { FLAG_DIRECTORY, FLAG_FILE, FLAG_SYMLINK } from '../../../protocol/manifest-flags.js';
import type { PreviousRow } from './manifest-writer.js';
import { RestoreDecryptor } from './restore-decrypt.js';

const BATCH = 128;
const BATCH_BYTES = 64 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

/** Domains of the user's data (rooted in /private/var/mobile); the others are system files. */
const USER_DOMAINS = new Set([
  'HomeDomain',
  'CameraRollDomain',
  'MediaDomain',
  'HealthDomain',
  'KeyboardDomain',
  'TonesDomain',
  'HomeKitDomain',
  'BooksDomain',
]);

export function isSystemDomain(domain: string): boolean {
  return !USER_DOMAINS.has(domain) && !domain.startsWith('AppDomain');
}

export interface ApplyInput {
  content: DeviceContent;
  rows: Map<string, PreviousRow>;
  /** Class keys of an encrypted backup (absent for a plain one). */
  classKeys: Map<number, Uint8Array> | undefined;
  files: HostFiles;
  source: string;
  systemFiles: boolean;
  removeNotRestored: boolean;
  stagingDir: string;
  freeBytes: number;
  signal: AbortSignal;
}

interface Item {
  fileId: string;
  domain: string;
  relativePath: string;
  flags: number;
  file: MBFile;
}

function fail(code: number, text: string): Mb2Result {
  return { code, description: `${text} (MBErrorDomain/${code})` };
}

function metaOf(f: MBFile): WriteMeta {
  const m: WriteMeta = {};
  if (f.mode !== undefined) m.mode = f.mode;
  if (f.userId !== undefined) m.uid = f.userId;
  if (f.groupId !== undefined) m.gid = f.groupId;
  if (f.lastModified !== undefined) m.mtime = f.lastModified;
  if (f.lastStatusChange !== undefined) m.ctime = f.lastStatusChange;
  if (f.birth !== undefined) m.birth = f.birth;
  if (f.protectionClass !== undefined) m.protectionClass = f.protectionClass;
  if (f.flags !== undefined) m.flags = f.flags;
  if (f.extendedAttributes !== undefined) m.extendedAttributes = f.extendedAttributes;
  return m;
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
}

export async function applyRestore(a: ApplyInput): Promise<Mb2Result> {
  const { content, files } = a;
  // 1. What is restored.
  const items: Item[] = [];
  for (const [fileId, r] of a.rows) {
    if (isSystemDomain(r.domain) && !a.systemFiles) continue;
    if (r.flags !== FLAG_FILE && r.flags !== FLAG_DIRECTORY && r.flags !== FLAG_SYMLINK) continue;
    let file: MBFile;
    try {
      file = decodeMBFile(r.file);
    } catch {
      return fail(205, `The record of ${r.domain} ${r.relativePath} in Manifest.db is damaged`);
    }
    items.push({ fileId, domain: r.domain, relativePath: r.relativePath, flags: r.flags, file });
  }
  items.sort((x, y) => (x.domain === y.domain ? cmp(x.relativePath, y.relativePath) : cmp(x.domain, y.domain)));
  const fileItems = items.filter((i) => i.flags === FLAG_FILE);

  // 2. Room on the device?
  let needed = 0;
  for (const i of fileItems) needed += Number(i.file.size ?? 0) - (content.get(i.domain, i.relativePath)?.size ?? 0);
  if (needed > a.freeBytes)
    return fail(
      106,
      `Not enough free space on the device to restore: ${needed} bytes needed, ${a.freeBytes} available`,
    );

  // 3. Folders and links.
  for (const i of items) {
    const existing = content.get(i.domain, i.relativePath);
    if (i.flags === FLAG_DIRECTORY && existing?.kind !== 'directory')
      content.makeDirectory(i.domain, i.relativePath, metaOf(i.file));
    if (i.flags === FLAG_SYMLINK && (existing?.kind !== 'symlink' || existing.target !== i.file.target)) {
      content.makeSymlink(i.domain, i.relativePath, i.file.target ?? '', metaOf(i.file));
    }
  }

  // 4. Files, in batches.
  await ensurePrivateDir(a.stagingDir);
  const runDir = await mkdtemp(join(a.stagingDir, 'run-'));
  try {
    const totalBytes = fileItems.reduce((n, i) => n + Number(i.file.size ?? 0), 0);
    let doneBytes = 0;
    for (let at = 0; at < fileItems.length;) {
      checkAborted(a.signal);
      const batch: Item[] = [];
      let bytes = 0;
      while (at < fileItems.length && batch.length < BATCH && (batch.length === 0 || bytes < BATCH_BYTES)) {
        const i = fileItems[at++] as Item;
        batch.push(i);
        bytes += Number(i.file.size ?? 0);
      }
      files.progress = totalBytes === 0 ? 50 : Math.min(95, (doneBytes / totalBytes) * 95);
      const r = await restoreBatch(a, runDir, batch);
      if (r) return r;
      doneBytes += bytes;
    }
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }

  // 5. What the backup does not hold.
  if (a.removeNotRestored) removeOthers(a, items);
  return { code: 0 };
}

function cmp(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

interface Staged {
  item: Item;
  tmp: string;
  key: Uint8Array | undefined;
  ok: boolean;
}

function fileKeyOf(a: ApplyInput, f: MBFile): Uint8Array | null | undefined {
  if (!a.classKeys) return undefined;
  if (!f.encryptionKey) return null;
  try {
    const { protectionClass, wrappedKey } = parseClassWrappedKey(f.encryptionKey);
    const ck = a.classKeys.get(protectionClass & 0xf);
    return ck ? aesUnwrap(ck, wrappedKey) : null;
  } catch {
    return null;
  }
}

async function restoreBatch(a: ApplyInput, runDir: string, batch: Item[]): Promise<Mb2Result | undefined> {
  const staged = new Map<string, Staged>();
  for (const [n, item] of batch.entries()) {
    const key = fileKeyOf(a, item.file);
    if (key === null) return fail(205, `The key of ${item.domain} ${item.relativePath} cannot be opened`);
    staged.set(`${a.source}/${item.fileId.slice(0, 2)}/${item.fileId}`, {
      item,
      tmp: join(runDir, `file-${n}`),
      key,
      ok: false,
    });
  }
  try {
    await a.files.downloadFilesTo([...staged.keys()], stagingSink(staged));
    for (const s of staged.values()) {
      if (!s.ok)
        return fail(205, `Manifest references files not in the backup: ${s.item.domain} ${s.item.relativePath}`);
    }
    for (const s of staged.values()) {
      await a.content.writeFile(s.item.domain, s.item.relativePath, readChunks(s.tmp), metaOf(s.item.file));
    }
    return undefined;
  } finally {
    await Promise.all([...staged.values()].map((s) => rm(s.tmp, { force: true })));
  }
}

/** Writes each arriving file into its staging file, decrypting when it has a key. */
function stagingSink(staged: Map<string, Staged>): DownloadSink {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let decryptor: RestoreDecryptor | undefined;
  let current: Staged | undefined;
  return {
    async start(path) {
      current = staged.get(path);
      if (!current) return;
      handle = await open(current.tmp, 'w', 0o600);
      decryptor = current.key ? new RestoreDecryptor(current.key, Number(current.item.file.size ?? 0)) : undefined;
    },
    async data(_path, bytes) {
      if (!handle) return;
      const out = decryptor ? decryptor.push(bytes) : bytes;
      if (out.length > 0) await handle.write(out);
    },
    async end(_path, ok) {
      if (!handle || !current) return;
      let good = ok;
      try {
        if (good && decryptor) await handle.write(decryptor.finish());
      } catch {
        good = false; // bad padding: not this file's key, or damaged
      } finally {
        await handle.close();
      }
      current.ok = good;
      handle = undefined;
      decryptor = undefined;
      current = undefined;
    },
  };
}

async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  const h = await open(path, 'r');
  try {
    for (;;) {
      const buf = new Uint8Array(READ_CHUNK);
      const { bytesRead } = await h.read(buf, 0, READ_CHUNK, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await h.close();
  }
}

/** Removes what the restored domains hold beyond the backup (never a parent of a restored item). */
function removeOthers(a: ApplyInput, items: Item[]): void {
  const keep = new Set<string>();
  for (const i of items) {
    keep.add(entryKey(i.domain, i.relativePath));
    keep.add(entryKey(i.domain, ''));
    const parts = i.relativePath.split('/');
    for (let n = 1; n < parts.length; n++) keep.add(entryKey(i.domain, parts.slice(0, n).join('/')));
  }
  const doomed = [];
  for (const e of a.content.entries()) {
    if (isSystemDomain(e.domain) && !a.systemFiles) continue;
    if (e.encryptedOnly && !a.classKeys) continue; // a plain backup cannot hold these
    if (!keep.has(entryKey(e.domain, e.relativePath))) doomed.push(e);
  }
  for (const e of doomed) a.content.removeFile(e.domain, e.relativePath);
}
