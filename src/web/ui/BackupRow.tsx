/** One backup in Manage Backups, with Verify, Show Path, Archive and Delete. */
import { useState } from 'preact/hooks';
import type { BackupView, ErrorView, VerifyRequest, VerifyResponse } from '../api.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes, formatDate, kindLabel } from './format.js';
import { api, errorView } from './http.js';
import { PasswordPrompt } from './PasswordPrompt.js';

type Ask = 'verify-password' | 'delete' | null;

export function BackupRow({ backup, onChanged }: { backup: BackupView; onChanged: () => void }) {
  const [ask, setAsk] = useState<Ask>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [verified, setVerified] = useState<VerifyResponse | null>(null);
  const [showPath, setShowPath] = useState(false);
  const [copied, setCopied] = useState(false);
  const [archive, setArchive] = useState<string | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const name = backup.deviceName ?? backup.udid;
  const date = formatDate(backup.date) ?? 'unknown date';

  const run = async (what: string, work: () => Promise<void>): Promise<void> => {
    setBusy(what);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(errorView(e));
    } finally {
      setBusy(null);
    }
  };

  const verify = (password?: string): void => {
    setAsk(null);
    setVerified(null);
    const body: VerifyRequest = { path: backup.path };
    if (password !== undefined) body.password = password;
    void run('verify', async () => setVerified(await api<VerifyResponse>('/api/backups/verify', body)));
  };

  const remove = (): void => {
    setAsk(null);
    void run('delete', async () => {
      await api<{ deleted: string }>('/api/backups/delete', { path: backup.path });
      onChanged();
    });
  };

  const doArchive = (): void =>
    void run('archive', async () => {
      const r = await api<{ archive: string }>('/api/backups/archive', { path: backup.path });
      setArchive(r.archive);
      onChanged();
    });

  const copy = (): void => {
    navigator.clipboard?.writeText(backup.path).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };

  return (
    <tr data-testid="backup-row" data-path={backup.path} data-udid={backup.udid}>
      <td>
        <span class="cell-main">{name}</span>
        {backup.iosVersion ? <span class="cell-sub">iOS {backup.iosVersion}</span> : null}
      </td>
      <td>{backup.date ? <time dateTime={backup.date}>{date}</time> : date}</td>
      <td>{formatBytes(backup.sizeBytes)}</td>
      <td>
        {backup.encrypted ? (
          <span class="tag" data-testid="backup-encrypted">
            Encrypted
          </span>
        ) : (
          <span class="tag muted">Not encrypted</span>
        )}
        {backup.complete ? null : <span class="tag warn">Incomplete</span>}
      </td>
      <td>{kindLabel(backup.kind)}</td>
      <td class="row-actions">
        <div class="buttons left">
          <button
            type="button"
            disabled={busy !== null}
            onClick={() => (backup.encrypted ? setAsk('verify-password') : verify())}
            data-testid="verify-button"
          >
            {busy === 'verify' ? 'Verifying…' : 'Verify'}
          </button>
          <button
            type="button"
            onClick={() => setShowPath(!showPath)}
            aria-expanded={showPath}
            data-testid="path-button"
          >
            Show Path
          </button>
          {backup.complete && backup.kind !== 'archive' ? (
            <button type="button" disabled={busy !== null} onClick={doArchive} data-testid="archive-button">
              {busy === 'archive' ? 'Archiving…' : 'Archive'}
            </button>
          ) : null}
          <button
            type="button"
            class="danger"
            disabled={busy !== null}
            onClick={() => setAsk('delete')}
            data-testid="delete-button"
          >
            {busy === 'delete' ? 'Deleting…' : 'Delete…'}
          </button>
        </div>
        {showPath ? (
          <div class="path-row">
            <input
              type="text"
              readonly
              value={backup.path}
              aria-label="Backup folder"
              data-testid="backup-path"
              onFocus={(e) => e.currentTarget.select()}
            />
            <button type="button" onClick={copy} data-testid="copy-path">
              {copied ? 'Copied' : 'Copy'}
            </button>
          </div>
        ) : null}
        {verified ? <VerifyResult result={verified} /> : null}
        {archive ? (
          <p class="status ok" data-testid="archive-result">
            Archived as {archive}
          </p>
        ) : null}
        {error ? <ErrorBox error={error} testid="backup-error" /> : null}
        {ask === 'verify-password' ? (
          <PasswordPrompt
            title="Verify encrypted backup"
            text={`Enter the password of the backup of ${name} from ${date}.`}
            action="Verify"
            onSubmit={verify}
            onClose={() => setAsk(null)}
          />
        ) : null}
        {ask === 'delete' ? (
          <Dialog title="Delete backup?" testid="delete-dialog" onClose={() => setAsk(null)}>
            <p>
              The backup of {name} from {date} is deleted from this computer. This cannot be undone.
            </p>
            <div class="buttons">
              <button type="button" onClick={() => setAsk(null)} data-testid="delete-cancel" autofocus>
                Cancel
              </button>
              <button type="button" class="danger primary" onClick={remove} data-testid="confirm-delete">
                Delete
              </button>
            </div>
          </Dialog>
        ) : null}
      </td>
    </tr>
  );
}

function VerifyResult({ result }: { result: VerifyResponse }) {
  const files = result.counts.files ?? result.counts.checked ?? null;
  return (
    <div
      class={result.ok ? 'verify ok' : 'verify bad'}
      data-testid="verify-result"
      data-ok={result.ok ? 'yes' : 'no'}
      role="status"
    >
      <p>
        {result.ok
          ? `Verified: no problems found${files === null ? '' : ` (${files} files)`}.`
          : `${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} found:`}
      </p>
      {result.problems.length > 0 ? (
        <ul>
          {result.problems.slice(0, 20).map((p, i) => (
            <li key={i}>
              {p.message}
              {p.path ? ` (${p.path})` : ''}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
