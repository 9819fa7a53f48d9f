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

  /** Gives the file at `from` the name `to`: a hard link, else a copy. */
  async place(from: string, to: string): Promise<void> {
    if (this.linksWork) {
      try {
        await this.fs.link(from, to);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
        if (this.opts.nothingToDo?.has(code) === true) return;
        if (!NO_LINKS.has(code)) throw err;
        this.opts.noLinks?.(code, err);
        this.linksWork = false;
      }
    }
    await this.opts.copy(from, to);
  }
}
