/**
 * A phone's backup history under its row in Manage Backups: the versions, newest first, with what
 * each holds and frees, and the retention policy. The password of an encrypted history is asked
 * once and kept in this panel's memory only (gone when it closes); a refused one is forgotten.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { BackupView, ErrorView, HistoryView, VersionView } from '../api.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes } from './format.js';
import { api, errorView } from './http.js';
import { policySentence, versionDate, versionsSummary } from './history-text.js';
import { PasswordPrompt } from './PasswordPrompt.js';
import { VersionItem, type Passwords } from './VersionItem.js';

interface Asking {
  version: VersionView;
  action: string;
  run: (password: string, remembered: boolean) => void;
  refused: boolean;
}

/** Versions of one password group open with one password. */
const keyOf = (v: VersionView): string => v.passwordGroup ?? v.id;

function usePasswords(): Passwords & { asking: Asking | null; answer: (p: string) => void; cancel: () => void } {
  const known = useRef(new Map<string, string>());
  const [asking, setAsking] = useState<Asking | null>(null);
  return {
    asking,
    withPassword(version, action, run, refused = false) {
      if (!version.encrypted) return run(undefined, false);
      const p = known.current.get(keyOf(version));
      if (p !== undefined) return run(p, true);
      setAsking({ version, action, run, refused });
    },
    forget: (version) => known.current.delete(keyOf(version)),
    answer(p) {
      if (asking === null) return;
      known.current.set(keyOf(asking.version), p);
      setAsking(null);
      asking.run(p, false);
    },
    cancel: () => setAsking(null),
  };
}

/** What the password prompt says: which version, which password, and that it is kept on the page only. */
function promptText({ version, refused }: Asking): string {
  const date = versionDate(version);
  const which = refused
    ? `The password given before does not open the version of ${date}: the backup password was changed between the versions. Enter the password this version was made with.`
    : version.earlierPassword
      ? `The backup password was changed after the version of ${date} was made: enter the password in use then.`
      : `Enter the backup password of the version of ${date}.`;
  return `${which} It is kept on this page only while the versions are shown.`;
}

/** The phone's history as the server has it now, fetched again when the row changes. */
function useHistory(row: BackupView) {
  const [history, setHistory] = useState<HistoryView | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const load = (): void => {
    api<HistoryView>('/api/history', { path: row.path }).then(
      (h) => {
        setHistory(h);
        setError(null);
      },
      (e: unknown) => setError(errorView(e)),
    );
  };
  // Each new backup list (after a backup, a delete, a password change…) may change the versions.
  useEffect(load, [row]);
  return { history, setHistory, error, load };
}

function HistoryHead({ history }: { history: HistoryView }) {
  return (
    <div class="history-head">
      <p data-testid="history-summary">
        <strong>{versionsSummary(history.versions.length, history.totalBytes)}</strong> on disk
        {history.sharedBytes > 0 ? ` (${formatBytes(history.sharedBytes)} shared between versions)` : ''}. “Only here”
        is what deleting a version frees.
      </p>
      <p class="muted small" data-testid="history-policy">
        {policySentence(history.policy)}
      </p>
      {history.unfinished ? (
        <p class="status warn small" data-testid="history-unfinished">
          The last backup did not complete; the newest version below is the phone’s last complete backup.
        </p>
      ) : null}
    </div>
  );
}

export function HistoryPanel({ row, onChanged }: { row: BackupView; onChanged: () => void }) {
  const { history, setHistory, error, load } = useHistory(row);
  const passwords = usePasswords();
  const changed = (): void => {
    load();
    onChanged();
  };
  return (
    <section class="history" data-testid="history-panel" aria-label={`Versions of ${row.deviceName ?? row.udid}`}>
      {history === null && error === null ? <p class="muted">Loading versions…</p> : null}
      {error ? <ErrorBox error={error} testid="history-error" /> : null}
      {history ? (
        <>
          <HistoryHead history={history} />
          <ol class="versions" data-testid="versions">
            {history.versions.map((v, i) => (
              <VersionItem
                // A comparison shown is with the version before: it goes when that one does.
                key={`${v.id} ${history.versions[i + 1]?.id ?? ''}`}
                row={row}
                version={v}
                previous={history.versions[i + 1] ?? null}
                passwords={passwords}
                onHistory={setHistory}
                onChanged={changed}
              />
            ))}
          </ol>
        </>
      ) : null}
      {passwords.asking ? (
        <PasswordPrompt
          title={`${passwords.asking.action}: backup password`}
          text={promptText(passwords.asking)}
          action="Continue"
          onSubmit={passwords.answer}
          onClose={passwords.cancel}
        />
      ) : null}
    </section>
  );
}
