/** Browse a version: its files by domain and path with their sizes, the first 500, with a filter. */
import { useEffect, useState } from 'preact/hooks';
import type { BackupView, ErrorView, VersionFileView, VersionFilesResponse, VersionView } from '../api.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes } from './format.js';
import { api, ApiFailure, errorView } from './http.js';
import { plural, versionDate } from './history-text.js';

export interface BrowseDialogProps {
  row: BackupView;
  version: VersionView;
  password: string | undefined;
  onWrongPassword: () => void;
  onClose: () => void;
}

/** The files matching `filter`, fetched a moment after the typing stops. */
function useFiles(props: BrowseDialogProps, filter: string) {
  const [result, setResult] = useState<VersionFilesResponse | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    let live = true;
    setLoading(true);
    const timer = setTimeout(() => {
      const body = {
        path: props.row.path,
        version: props.version.id,
        ...(filter.trim() === '' ? {} : { filter: filter.trim() }),
        ...(props.password === undefined ? {} : { password: props.password }),
      };
      api<VersionFilesResponse>('/api/history/files', body).then(
        (r) => {
          if (!live) return;
          setResult(r);
          setError(null);
          setLoading(false);
        },
        (e: unknown) => {
          if (!live) return;
          if (e instanceof ApiFailure && e.view.code === 'WRONG_PASSWORD') props.onWrongPassword();
          setError(errorView(e));
          setLoading(false);
        },
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [filter]);
  return { result, error, loading };
}

function FilesTable({ files }: { files: VersionFileView[] }) {
  return (
    <div class="table-wrap">
      <table class="backups files" data-testid="browse-table">
        <thead>
          <tr>
            <th scope="col">Domain</th>
            <th scope="col">Path</th>
            <th scope="col">Size</th>
          </tr>
        </thead>
        <tbody>
          {files.map((f) => (
            <tr key={`${f.domain}/${f.relativePath}`} data-testid="browse-file">
              <td>{f.domain}</td>
              <td class="file-path">{f.relativePath}</td>
              <td>{formatBytes(f.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function BrowseDialog(props: BrowseDialogProps) {
  const [filter, setFilter] = useState('');
  const { result, error, loading } = useFiles(props, filter);
  const date = versionDate(props.version);
  return (
    <Dialog title={`Files in the version of ${date}`} testid="browse-dialog" onClose={props.onClose} wide>
      <label class="browse-filter">
        Filter{' '}
        <input
          type="search"
          value={filter}
          placeholder="Domain or path contains…"
          onInput={(e) => setFilter(e.currentTarget.value)}
          data-testid="browse-filter"
          autofocus
        />
      </label>
      {error ? <ErrorBox error={error} testid="browse-error" /> : null}
      {result ? (
        <p
          class="muted small"
          data-testid="browse-count"
          data-total={result.total}
          data-loading={loading ? 'yes' : 'no'}
        >
          {result.total > result.files.length
            ? `The first ${result.files.length.toLocaleString()} of ${plural(result.total, 'file')}.`
            : plural(result.total, 'file')}
        </p>
      ) : (
        !error && <p class="muted">Reading the version…</p>
      )}
      {result && result.files.length > 0 ? <FilesTable files={result.files} /> : null}
      <div class="buttons">
        <button type="button" class="primary" onClick={props.onClose} data-testid="browse-close">
          Done
        </button>
      </div>
    </Dialog>
  );
}
