/** What Compare with previous found, and the confirmation Delete of a version asks for. */
import type { VersionDiffView, VersionFileView, VersionView } from '../api.js';
import { Dialog } from './Dialog.js';
import { formatBytes } from './format.js';
import { plural, versionDate } from './history-text.js';

function DiffList({
  mark,
  label,
  list,
  total,
}: {
  mark: string;
  label: string;
  list: VersionFileView[];
  total: number;
}) {
  if (total === 0) return null;
  return (
    <li>
      {label}:
      <ul class="diff-list">
        {list.map((f) => (
          <li key={`${f.domain}/${f.relativePath}`}>
            <code>
              {mark} {f.domain}/{f.relativePath}
            </code>{' '}
            <span class="muted">({formatBytes(f.size)})</span>
          </li>
        ))}
        {total > list.length ? <li class="muted">… and {(total - list.length).toLocaleString()} more</li> : null}
      </ul>
    </li>
  );
}

export function DiffResult({ diff }: { diff: VersionDiffView }) {
  const { added, changed, removed } = diff.counts;
  const none = added + changed + removed === 0;
  return (
    <div class="diff small" data-testid="diff-result" role="status">
      <p data-testid="diff-counts">
        Since the version before it: {plural(added, 'file')} added, {changed.toLocaleString()} changed,{' '}
        {removed.toLocaleString()} removed{none ? ' — no file changed' : ''}.
      </p>
      {none ? null : (
        <ul class="diff-lists">
          <DiffList mark="+" label="Added" list={diff.added} total={added} />
          <DiffList mark="~" label="Changed" list={diff.changed} total={changed} />
          <DiffList mark="−" label="Removed" list={diff.removed} total={removed} />
        </ul>
      )}
    </div>
  );
}

interface DeleteVersionProps {
  version: VersionView;
  previous: VersionView | null;
  onCancel: () => void;
  onConfirm: () => void;
}

/** What deleting the version frees, and (the current one) which version becomes current. */
export function DeleteVersionDialog({ version, previous, onCancel, onConfirm }: DeleteVersionProps) {
  const date = versionDate(version);
  return (
    <Dialog title="Delete this version?" testid="delete-version-dialog" onClose={onCancel}>
      <p>
        The version of {date} is deleted from this computer; this frees{' '}
        <strong data-testid="delete-frees">{formatBytes(version.uniqueBytes)}</strong> (the files it shares with other
        versions stay). This cannot be undone.
      </p>
      {version.current && previous ? (
        <p data-testid="delete-becomes-current">
          It is the current backup: the version of {versionDate(previous)} becomes the current one, the backup Finder
          sees and restores.
        </p>
      ) : null}
      {version.current && !previous ? (
        <p data-testid="delete-last">It is the only version: no backup of this iPhone is left on this computer.</p>
      ) : null}
      {version.pinned ? <p>It is pinned: you asked to keep it.</p> : null}
      <div class="buttons">
        <button type="button" onClick={onCancel} data-testid="delete-cancel" autofocus>
          Cancel
        </button>
        <button type="button" class="danger primary" onClick={onConfirm} data-testid="confirm-delete-version">
          Delete Version
        </button>
      </div>
    </Dialog>
  );
}
