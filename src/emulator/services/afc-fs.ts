/**
 * The media partition AFC shows: an in-memory tree (lock file, iTunes_Control, iTunesRestore…)
 * plus read-only mounts whose files are produced on demand (the camera roll under /DCIM).
 */

export interface AfcStat {
  type: 'file' | 'dir';
  size: number;
  /** Modification time, ms since 1970. */
  mtimeMs: number;
}

/** A read-only subtree served from elsewhere (e.g. the device content's photos). */
export interface AfcMount {
  stat(rel: string): AfcStat | undefined;
  list(rel: string): string[] | undefined;
  read(rel: string, offset: number, length: number): Promise<Uint8Array>;
}

interface Node {
  type: 'file' | 'dir';
  data: Buffer;
  mtimeMs: number;
}

export type FsResult = 'ok' | 'not-found' | 'exists' | 'is-dir' | 'not-dir' | 'not-empty' | 'read-only' | 'invalid';

export function normalizeAfcPath(path: string): string | undefined {
  if (path.includes('\0')) return undefined;
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export class AfcFileSystem {
  private readonly nodes = new Map<string, Node>();
  private readonly mounts = new Map<string, AfcMount>();

  constructor(private readonly now: () => number = Date.now) {
    this.nodes.set('/', { type: 'dir', data: Buffer.alloc(0), mtimeMs: now() });
  }

  mount(at: string, m: AfcMount): void {
    this.mkdirs(parentOf(at));
    this.mounts.set(at, m);
  }

  private mountFor(path: string): [AfcMount, string] | undefined {
    for (const [at, m] of this.mounts) {
      if (path === at) return [m, ''];
      if (path.startsWith(`${at}/`)) return [m, path.slice(at.length + 1)];
    }
    return undefined;
  }

  stat(path: string): AfcStat | undefined {
    const m = this.mountFor(path);
    if (m) return m[0].stat(m[1]);
    const n = this.nodes.get(path);
    return n ? { type: n.type, size: n.data.length, mtimeMs: n.mtimeMs } : undefined;
  }

  list(path: string): string[] | undefined {
    const m = this.mountFor(path);
    if (m) return m[0].list(m[1]);
    const n = this.nodes.get(path);
    if (!n || n.type !== 'dir') return undefined;
    const prefix = path === '/' ? '/' : `${path}/`;
    const names = new Set<string>();
    for (const p of this.nodes.keys())
      if (p !== path && p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
        names.add(p.slice(prefix.length));
    for (const at of this.mounts.keys()) if (parentOf(at) === path) names.add(at.slice(prefix.length));
    return [...names].sort();
  }

  async read(path: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    const m = this.mountFor(path);
    if (m) return m[0].read(m[1], offset, length);
    const n = this.nodes.get(path);
    if (!n || n.type !== 'file') return undefined;
    return n.data.subarray(offset, Math.min(n.data.length, offset + length));
  }

  /** Creates or truncates a file (parents must exist). */
  create(path: string, truncate: boolean): FsResult {
    if (this.mountFor(path)) return 'read-only';
    const n = this.nodes.get(path);
    if (n?.type === 'dir') return 'is-dir';
    const parent = this.nodes.get(parentOf(path));
    if (!parent) return 'not-found';
    if (parent.type !== 'dir') return 'not-dir';
    if (!n || truncate) this.nodes.set(path, { type: 'file', data: Buffer.alloc(0), mtimeMs: this.now() });
    return 'ok';
  }

  write(path: string, offset: number, data: Uint8Array): FsResult {
    const n = this.nodes.get(path);
    if (!n || n.type !== 'file') return 'not-found';
    const end = offset + data.length;
    if (end > n.data.length) {
      const grown = Buffer.alloc(end);
      n.data.copy(grown);
      n.data = grown;
    }
    n.data.set(data, offset);
    n.mtimeMs = this.now();
    return 'ok';
  }

  /** Writes a whole file, creating parent folders. */
  put(path: string, data: Uint8Array): void {
    this.mkdirs(parentOf(path));
    this.nodes.set(path, { type: 'file', data: Buffer.from(data), mtimeMs: this.now() });
  }

  mkdirs(path: string): FsResult {
    if (this.mountFor(path)) return 'read-only';
    let cur = '';
    for (const part of path.split('/').filter(Boolean)) {
      cur += `/${part}`;
      const n = this.nodes.get(cur);
      if (n && n.type !== 'dir') return 'not-dir';
      if (!n) this.nodes.set(cur, { type: 'dir', data: Buffer.alloc(0), mtimeMs: this.now() });
    }
    return 'ok';
  }

  remove(path: string): FsResult {
    if (path === '/') return 'invalid';
    if (this.mountFor(path)) return 'read-only';
    const n = this.nodes.get(path);
    if (!n) return 'not-found';
    if (n.type === 'dir' && (this.list(path)?.length ?? 0) > 0) return 'not-empty';
    this.nodes.delete(path);
    return 'ok';
  }

  rename(from: string, to: string): FsResult {
    if (this.mountFor(from) || this.mountFor(to)) return 'read-only';
    const n = this.nodes.get(from);
    if (!n) return 'not-found';
    if (!this.nodes.get(parentOf(to))) return 'not-found';
    const moved: [string, Node][] = [];
    for (const [p, node] of this.nodes) if (p === from || p.startsWith(`${from}/`)) moved.push([p, node]);
    for (const [p] of moved) this.nodes.delete(p);
    for (const [p, node] of moved) this.nodes.set(to + p.slice(from.length), node);
    return 'ok';
  }
}
