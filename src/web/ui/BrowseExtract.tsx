/** Extract… in the backup browser: a file or folder written (decrypted) into a folder of this computer. */
import { useState } from 'preact/hooks';
import type { ErrorView } from '../api.js';
import type { BrowseExtractRequest, BrowseExtractResponse } from '../api-browse.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes } from './format.js';
import { api, errorView } from './http.js';

export interface ExtractTarget {
  domain: string;
  /** '' for the whole domain. */
  relativePath: string;
}

function Done({ done }: { done: BrowseExtractResponse }) {
  return (
    <p class="status ok" role="status" data-testid="browse-extract-done">
      {done.filesWritten.toLocaleString()} files ({formatBytes(done.bytesWritten)}) written to {done.out}
      {done.skipped > 0 ? `; ${done.skipped} could not be written` : ''}.
    </p>
  );
}

export function ExtractBox(props: {
  target: ExtractTarget;
  request: (t: ExtractTarget, out: string) => BrowseExtractRequest;
  onClose: () => void;
}) {
  const [out, setOut] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<BrowseExtractResponse | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const what = props.target.relativePath === '' ? props.target.domain : props.target.relativePath;
  const submit = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setDone(await api<BrowseExtractResponse>('/api/browse/extract', props.request(props.target, out.trim())));
    } catch (e) {
      setError(errorView(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      class="panel form"
      data-testid="browse-extract"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <p>
        Extract <strong>{what}</strong> into a folder of this computer (its full path); it is written as{' '}
        <code>folder/{props.target.domain}/…</code>, decrypted.
      </p>
      <label>
        Folder
        <input
          type="text"
          value={out}
          onInput={(e) => setOut(e.currentTarget.value)}
          data-testid="browse-extract-out"
        />
      </label>
      {error ? <ErrorBox error={error} testid="browse-extract-error" /> : null}
      {done ? <Done done={done} /> : null}
      <div class="buttons">
        <button type="button" onClick={props.onClose}>
          Close
        </button>
        <button type="submit" class="primary" disabled={busy || out.trim() === ''} data-testid="browse-extract-submit">
          {busy ? 'Extracting…' : 'Extract'}
        </button>
      </div>
    </form>
  );
}
