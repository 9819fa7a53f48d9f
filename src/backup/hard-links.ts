/**
 * The one way a backup's file gets a second name without its data being copied: a hard link (a
 * backup's files are replaced, never changed in place, so both names keep the same bytes). Used by
 * the copy kept of the last complete backup during a run and by archives. Where the disk cannot
 * make hard links (exFAT, FAT, across disks), the caller decides whether, and how, to copy.
 */
import type { FsLayer } from './fs-layer.js';

/** Error codes of file systems that cannot make a hard link there. */
export const NO_LINKS: ReadonlySet<string> = new Set(['EPERM', 'EXDEV', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

export interface LinkOrCopyOptions {
  /** Link errors that mean there is nothing to do (the file vanished, or is there already). */
  nothingToDo?: ReadonlySet<string>;
  /** Called when a link fails for want of hard links, before any copy; throws to refuse copies. */
  noLinks?: (code: string, err: unknown) => void;
  /** How one file is copied once links are known to be impossible. */
  copy: (from: string, to: string) => Promise<void>;
}

/** Links files while the disk can; from the first link it cannot make on, copies them. */
export class LinkOrCopy {
  private linksWork = true;

  constructor(
    private readonly fs: Pick<FsLayer, 'link'>,
    private readonly opts: LinkOrCopyOptions,
  ) {}

  /**
   * Gives the file at `from` the name `to`: a hard link, else a copy. Where the link is made at
   * once there is nothing to wait for (undefined); a failure is thrown at once or rejects.
   */
  place(from: string, to: string): Promise<void> | undefined {
    if (!this.linksWork) return this.opts.copy(from, to);
    let linking: void | Promise<void>;
    try {
      linking = this.fs.link(from, to);
    } catch (err) {
      return this.linkFailed(err, from, to);
    }
    return linking === undefined
      ? undefined
      : linking.then(undefined, (err: unknown) => this.linkFailed(err, from, to));
  }

  /** After a failed link: nothing to do, a copy (links are impossible here), or the error again. */
  private linkFailed(err: unknown, from: string, to: string): Promise<void> | undefined {
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
    if (this.opts.nothingToDo?.has(code) === true) return undefined;
    if (!NO_LINKS.has(code)) throw err;
    this.opts.noLinks?.(code, err);
    this.linksWork = false;
    return this.opts.copy(from, to);
  }
}
