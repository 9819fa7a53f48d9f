/**
 * AFC, device side: the media partition as backup hosts use it — the sync lock file, file info
 * and reads of the iTunes files and /DCIM, and the writes of a restore (iTunesRestore).
 */
import {
  AfcDecoder,
  AfcFileMode,
  AfcOp,
  AfcStatus,
  decodeAfcFileLock,
  decodeAfcFileOpen,
  decodeAfcFileRead,
  decodeAfcFileWrite,
  decodeAfcPath,
  decodeAfcRename,
  decodeAfcU64,
  encodeAfcKeyValues,
  encodeAfcPacket,
  encodeAfcStrings,
  encodeAfcU64,
  type AfcPacket,
} from '../../protocol/afc.js';
import type { Link } from '../../transport/link.js';
import { normalizeAfcPath, type AfcFileSystem, type FsResult } from './afc-fs.js';

const MAX_READ = 4 * 1024 * 1024;

/** Advisory locks shared by every AFC connection of one device. */
export class AfcLocks {
  private readonly holders = new Map<string, { owner: object; exclusive: boolean; count: number }>();

  lock(path: string, owner: object, exclusive: boolean): boolean {
    const h = this.holders.get(path);
    if (!h) {
      this.holders.set(path, { owner, exclusive, count: 1 });
      return true;
    }
    if (h.owner === owner) {
      h.exclusive = exclusive;
      return true;
    }
    if (h.exclusive || exclusive) return false;
    h.count++;
    return true;
  }

  unlockAll(owner: object, path?: string): void {
    for (const [p, h] of this.holders)
      if (h.owner === owner && (path === undefined || p === path)) this.holders.delete(p);
  }
}

interface Handle {
  path: string;
  pos: number;
  writable: boolean;
}

export interface AfcDeviceInfo {
  Model: string;
  FSTotalBytes: string;
  FSFreeBytes: string;
  FSBlockSize: string;
}

export function serveAfc(link: Link, fs: AfcFileSystem, locks: AfcLocks, deviceInfo: () => AfcDeviceInfo): void {
  const decoder = new AfcDecoder();
  const handles = new Map<number, Handle>();
  const owner = {};
  let nextHandle = 1;
  let queue = Promise.resolve();

  const reply = (p: AfcPacket, operation: number, headerPayload?: Uint8Array, payload?: Uint8Array): Promise<void> =>
    link.write(
      encodeAfcPacket({
        packetNum: p.packetNum,
        operation,
        ...(headerPayload ? { headerPayload } : {}),
        ...(payload ? { payload } : {}),
      }),
    );
  const status = (p: AfcPacket, code: number): Promise<void> => reply(p, AfcOp.Status, encodeAfcU64(code));
  const fsStatus = (p: AfcPacket, r: FsResult): Promise<void> => status(p, FS_STATUS[r]);
  const path = (p: AfcPacket): string | undefined => normalizeAfcPath(decodeAfcPath(p.body));

  async function handle(p: AfcPacket): Promise<void> {
    switch (p.operation) {
      case AfcOp.GetDeviceInfo:
        return reply(p, AfcOp.Data, undefined, encodeAfcKeyValues({ ...deviceInfo() }));
      case AfcOp.ReadDir: {
        const at = path(p);
        const names = at === undefined ? undefined : fs.list(at);
        if (!names)
          return status(
            p,
            at !== undefined && fs.stat(at)?.type === 'file' ? AfcStatus.ReadError : AfcStatus.ObjectNotFound,
          );
        return reply(p, AfcOp.Data, undefined, encodeAfcStrings(['.', '..', ...names]));
      }
      case AfcOp.GetFileInfo: {
        const at = path(p);
        const st = at === undefined ? undefined : fs.stat(at);
        if (!st) return status(p, AfcStatus.ObjectNotFound);
        const ns = String(BigInt(Math.round(st.mtimeMs)) * 1_000_000n);
        return reply(
          p,
          AfcOp.Data,
          undefined,
          encodeAfcKeyValues({
            st_size: String(st.size),
            st_blocks: String(Math.ceil(st.size / 512)),
            st_nlink: st.type === 'dir' ? '2' : '1',
            st_ifmt: st.type === 'dir' ? 'S_IFDIR' : 'S_IFREG',
            st_mtime: ns,
            st_birthtime: ns,
          }),
        );
      }
      case AfcOp.MakeDir: {
        const at = path(p);
        return at === undefined ? status(p, AfcStatus.InvalidArg) : fsStatus(p, fs.mkdirs(at));
      }
      case AfcOp.RemovePath: {
        const at = path(p);
        return at === undefined ? status(p, AfcStatus.InvalidArg) : fsStatus(p, fs.remove(at));
      }
      case AfcOp.RenamePath: {
        const { from, to } = decodeAfcRename(p.body);
        const a = normalizeAfcPath(from);
        const b = normalizeAfcPath(to);
        return a === undefined || b === undefined ? status(p, AfcStatus.InvalidArg) : fsStatus(p, fs.rename(a, b));
      }
      case AfcOp.FileOpen: {
        const { mode, path: raw } = decodeAfcFileOpen(p.body);
        const at = normalizeAfcPath(raw);
        if (at === undefined || mode < 1 || mode > 6) return status(p, AfcStatus.InvalidArg);
        const st = fs.stat(at);
        if (st?.type === 'dir') return status(p, AfcStatus.ObjectIsDir);
        if (mode === AfcFileMode.ReadOnly) {
          if (!st) return status(p, AfcStatus.ObjectNotFound);
        } else {
          const r = fs.create(at, mode === AfcFileMode.WriteOnly || mode === AfcFileMode.WriteRead);
          if (r !== 'ok') return fsStatus(p, r);
        }
        const h = nextHandle++;
        const appending = mode === AfcFileMode.Append || mode === AfcFileMode.ReadAppend;
        handles.set(h, {
          path: at,
          pos: appending ? (fs.stat(at)?.size ?? 0) : 0,
          writable: mode !== AfcFileMode.ReadOnly,
        });
        return reply(p, AfcOp.FileOpenResult, encodeAfcU64(h));
      }
      case AfcOp.FileRead: {
        const { handle: h, length } = decodeAfcFileRead(p.body);
        const f = handles.get(h);
        if (!f) return status(p, AfcStatus.InvalidArg);
        const data = (await fs.read(f.path, f.pos, Math.min(length, MAX_READ))) ?? new Uint8Array(0);
        f.pos += data.length;
        return reply(p, AfcOp.Data, undefined, data);
      }
      case AfcOp.FileWrite: {
        const { handle: h, data } = decodeAfcFileWrite(p.body);
        const f = handles.get(h);
        if (!f || !f.writable) return status(p, f ? AfcStatus.PermDenied : AfcStatus.InvalidArg);
        const r = fs.write(f.path, f.pos, data);
        if (r === 'ok') f.pos += data.length;
        return fsStatus(p, r);
      }
      case AfcOp.FileClose: {
        const h = decodeAfcU64(p.body, 'file handle');
        const f = handles.get(h);
        if (!f) return status(p, AfcStatus.InvalidArg);
        handles.delete(h);
        locks.unlockAll(owner, f.path);
        return status(p, AfcStatus.Success);
      }
      case AfcOp.FileLock: {
        const { handle: h, op } = decodeAfcFileLock(p.body);
        const f = handles.get(h);
        if (!f) return status(p, AfcStatus.InvalidArg);
        if ((op & 8) !== 0) {
          locks.unlockAll(owner, f.path);
          return status(p, AfcStatus.Success);
        }
        return status(p, locks.lock(f.path, owner, (op & 2) !== 0) ? AfcStatus.Success : AfcStatus.OpWouldBlock);
      }
      default:
        return status(p, AfcStatus.OpNotSupported);
    }
  }

  link.on('data', (chunk: Buffer) => {
    let packets: AfcPacket[];
    try {
      packets = decoder.push(chunk);
    } catch {
      link.close();
      return;
    }
    for (const p of packets) {
      queue = queue.then(() => handle(p)).catch(() => status(p, AfcStatus.InvalidArg).catch(() => link.close()));
    }
  });
  link.once('end', () => locks.unlockAll(owner));
}

const FS_STATUS: Record<FsResult, number> = {
  ok: AfcStatus.Success,
  'not-found': AfcStatus.ObjectNotFound,
  exists: AfcStatus.ObjectExists,
  'is-dir': AfcStatus.ObjectIsDir,
  'not-dir': AfcStatus.InvalidArg,
  'not-empty': AfcStatus.DirNotEmpty,
  'read-only': AfcStatus.PermDenied,
  invalid: AfcStatus.InvalidArg,
};
