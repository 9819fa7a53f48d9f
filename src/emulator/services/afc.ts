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
  const conn = new AfcConnection(link, fs, locks, deviceInfo);
  let queue = Promise.resolve();
  link.on('data', (chunk: Buffer) => {
    let packets: AfcPacket[];
    try {
      packets = decoder.push(chunk);
    } catch {
      link.close();
      return;
    }
    for (const p of packets) {
      queue = queue
        .then(() => conn.handle(p))
        .catch(() => conn.status(p, AfcStatus.InvalidArg).catch(() => link.close()));
    }
  });
  link.once('end', () => locks.unlockAll(conn.owner));
}

/** One AFC connection: its open files, its locks, one method per operation. */
class AfcConnection {
  /** Who holds this connection's locks. */
  readonly owner = {};
  private readonly handles = new Map<number, Handle>();
  private nextHandle = 1;

  constructor(
    private readonly link: Link,
    private readonly fs: AfcFileSystem,
    private readonly locks: AfcLocks,
    private readonly deviceInfo: () => AfcDeviceInfo,
  ) {}

  handle(p: AfcPacket): Promise<void> {
    switch (p.operation) {
      case AfcOp.GetDeviceInfo:
        return this.reply(p, AfcOp.Data, undefined, encodeAfcKeyValues({ ...this.deviceInfo() }));
      case AfcOp.ReadDir:
        return this.readDir(p);
      case AfcOp.GetFileInfo:
        return this.fileInfo(p);
      case AfcOp.MakeDir:
        return this.onPath(p, (at) => this.fs.mkdirs(at));
      case AfcOp.RemovePath:
        return this.onPath(p, (at) => this.fs.remove(at));
      case AfcOp.RenamePath:
        return this.rename(p);
      case AfcOp.FileOpen:
        return this.open(p);
      case AfcOp.FileRead:
        return this.read(p);
      case AfcOp.FileWrite:
        return this.write(p);
      case AfcOp.FileClose:
        return this.close(p);
      case AfcOp.FileLock:
        return this.lock(p);
      default:
        return this.status(p, AfcStatus.OpNotSupported);
    }
  }

  status(p: AfcPacket, code: number): Promise<void> {
    return this.reply(p, AfcOp.Status, encodeAfcU64(code));
  }

  private reply(p: AfcPacket, operation: number, headerPayload?: Uint8Array, payload?: Uint8Array): Promise<void> {
    return this.link.write(
      encodeAfcPacket({
        packetNum: p.packetNum,
        operation,
        ...(headerPayload ? { headerPayload } : {}),
        ...(payload ? { payload } : {}),
      }),
    );
  }

  private fsStatus(p: AfcPacket, r: FsResult): Promise<void> {
    return this.status(p, FS_STATUS[r]);
  }

  private path(p: AfcPacket): string | undefined {
    return normalizeAfcPath(decodeAfcPath(p.body));
  }

  /** An operation on the packet's path (MakeDir, RemovePath). */
  private onPath(p: AfcPacket, op: (at: string) => FsResult): Promise<void> {
    const at = this.path(p);
    return at === undefined ? this.status(p, AfcStatus.InvalidArg) : this.fsStatus(p, op(at));
  }

  private readDir(p: AfcPacket): Promise<void> {
    const at = this.path(p);
    const names = at === undefined ? undefined : this.fs.list(at);
    if (!names) {
      const isFile = at !== undefined && this.fs.stat(at)?.type === 'file';
      return this.status(p, isFile ? AfcStatus.ReadError : AfcStatus.ObjectNotFound);
    }
    return this.reply(p, AfcOp.Data, undefined, encodeAfcStrings(['.', '..', ...names]));
  }

  private fileInfo(p: AfcPacket): Promise<void> {
    const at = this.path(p);
    const st = at === undefined ? undefined : this.fs.stat(at);
    if (!st) return this.status(p, AfcStatus.ObjectNotFound);
    const ns = String(BigInt(Math.round(st.mtimeMs)) * 1_000_000n);
    const info = {
      st_size: String(st.size),
      st_blocks: String(Math.ceil(st.size / 512)),
      st_nlink: st.type === 'dir' ? '2' : '1',
      st_ifmt: st.type === 'dir' ? 'S_IFDIR' : 'S_IFREG',
      st_mtime: ns,
      st_birthtime: ns,
    };
    return this.reply(p, AfcOp.Data, undefined, encodeAfcKeyValues(info));
  }

  private rename(p: AfcPacket): Promise<void> {
    const { from, to } = decodeAfcRename(p.body);
    const a = normalizeAfcPath(from);
    const b = normalizeAfcPath(to);
    if (a === undefined || b === undefined) return this.status(p, AfcStatus.InvalidArg);
    return this.fsStatus(p, this.fs.rename(a, b));
  }

  private open(p: AfcPacket): Promise<void> {
    const { mode, path: raw } = decodeAfcFileOpen(p.body);
    const at = normalizeAfcPath(raw);
    if (at === undefined || mode < 1 || mode > 6) return this.status(p, AfcStatus.InvalidArg);
    const st = this.fs.stat(at);
    if (st?.type === 'dir') return this.status(p, AfcStatus.ObjectIsDir);
    if (mode === AfcFileMode.ReadOnly) {
      if (!st) return this.status(p, AfcStatus.ObjectNotFound);
    } else {
      const r = this.fs.create(at, mode === AfcFileMode.WriteOnly || mode === AfcFileMode.WriteRead);
      if (r !== 'ok') return this.fsStatus(p, r);
    }
    const h = this.nextHandle++;
    const appending = mode === AfcFileMode.Append || mode === AfcFileMode.ReadAppend;
    this.handles.set(h, {
      path: at,
      pos: appending ? (this.fs.stat(at)?.size ?? 0) : 0,
      writable: mode !== AfcFileMode.ReadOnly,
    });
    return this.reply(p, AfcOp.FileOpenResult, encodeAfcU64(h));
  }

  private async read(p: AfcPacket): Promise<void> {
    const { handle: h, length } = decodeAfcFileRead(p.body);
    const f = this.handles.get(h);
    if (!f) return this.status(p, AfcStatus.InvalidArg);
    const data = (await this.fs.read(f.path, f.pos, Math.min(length, MAX_READ))) ?? new Uint8Array(0);
    f.pos += data.length;
    return this.reply(p, AfcOp.Data, undefined, data);
  }

  private write(p: AfcPacket): Promise<void> {
    const { handle: h, data } = decodeAfcFileWrite(p.body);
    const f = this.handles.get(h);
    if (!f || !f.writable) return this.status(p, f ? AfcStatus.PermDenied : AfcStatus.InvalidArg);
    const r = this.fs.write(f.path, f.pos, data);
    if (r === 'ok') f.pos += data.length;
    return this.fsStatus(p, r);
  }

  private close(p: AfcPacket): Promise<void> {
    const h = decodeAfcU64(p.body, 'file handle');
    const f = this.handles.get(h);
    if (!f) return this.status(p, AfcStatus.InvalidArg);
    this.handles.delete(h);
    this.locks.unlockAll(this.owner, f.path);
    return this.status(p, AfcStatus.Success);
  }

  private lock(p: AfcPacket): Promise<void> {
    const { handle: h, op } = decodeAfcFileLock(p.body);
    const f = this.handles.get(h);
    if (!f) return this.status(p, AfcStatus.InvalidArg);
    if ((op & 8) !== 0) {
      this.locks.unlockAll(this.owner, f.path);
      return this.status(p, AfcStatus.Success);
    }
    const granted = this.locks.lock(f.path, this.owner, (op & 2) !== 0);
    return this.status(p, granted ? AfcStatus.Success : AfcStatus.OpWouldBlock);
  }
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
