/**
 * Restore Backup…: pick a backup (this iPhone's, or any), enter its password if encrypted; or,
 * from a phone's history in Manage Backups, restore the one version given as `source`.
 */
import { useState } from 'preact/hooks';
import type { BackupView, ErrorView, JobView, RestoreRequest } from '../api.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes, formatDate, kindLabel } from './format.js';
import { api, errorView, seg } from './http.js';
import { sortBackups } from './ManageBackups.js';
import { PasswordField } from './PasswordField.js';

export interface RestoreDialogProps {
  udid: string;
  deviceName: string;
  backups: BackupView[] | null;
  onClose: () => void;
  onStarted: (job: JobView) => void;
  /** A fixed source (a version of a phone's history) instead of the list of backups. */
  source?: RestoreSource;
}

export interface RestoreSource {
  /** What is restored, in one line. */
  label: string;
  encrypted: boolean;
  /** Asks the server to start the restore (with the password when encrypted). */
  start: (password: string | undefined) => Promise<JobView>;
}

/** "date · size · Encrypted · kind" under a backup's name. */
function choiceLine(b: BackupView): string {
  return [
    formatDate(b.date) ?? 'unknown date',
    formatBytes(b.sizeBytes),
    b.encrypted ? 'Encrypted' : null,
    b.kind === 'archive' ? kindLabel(b.kind) : null,
    b.unfinished === undefined ? null : 'the last complete backup (a later one did not finish)',
  ]
    .filter((s) => s !== null)
    .join(' · ');
}

interface BackupChoicesProps {
  list: BackupView[];
  loading: boolean;
  chosen: string | null;
  onChoose: (path: string) => void;
}

/** One radio button per complete backup (or why there is none). */
function BackupChoices({ list, loading, chosen, onChoose }: BackupChoicesProps) {
  if (list.length === 0) {
    return <p data-testid="restore-none">{loading ? 'Loading…' : 'There is no complete backup to restore from.'}</p>;
  }
  return (
    <fieldset class="choices">
      <legend class="visually-hidden">Backup</legend>
      {list.map((b) => (
        <label class="choice" key={b.path} data-testid="restore-option" data-path={b.path}>
          <input
            type="radio"
            name="restore-backup"
            value={b.path}
            checked={b.path === chosen}
            onChange={() => onChoose(b.path)}
          />
          <span class="cell-main">{b.deviceName ?? b.udid}</span>
          <span class="cell-sub">{choiceLine(b)}</span>
        </label>
      ))}
    </fieldset>
  );
}

/** Starting the restore: the password is sent once and cleared when the server has answered. */
function useRestoreStart(udid: string, onStarted: (job: JobView) => void) {
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorView | null>(null);
  const start = async (picked: BackupView | RestoreSource): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      if ('start' in picked) {
        onStarted(await picked.start(picked.encrypted ? password : undefined));
        return;
      }
      const body: RestoreRequest = { path: picked.path };
      if (picked.encrypted) body.password = password;
      const r = await api<{ job: JobView }>(`/api/devices/${seg(udid)}/restore`, body);
      onStarted(r.job);
    } catch (e) {
      setError(errorView(e));
    } finally {
      setPassword('');
      setBusy(false);
    }
  };
  return { password, setPassword, busy, error, start };
}

export function RestoreDialog({ udid, deviceName, backups, onClose, onStarted, source }: RestoreDialogProps) {
  const [all, setAll] = useState(false);
  const [chosen, setChosen] = useState<string | null>(null);
  const { password, setPassword, busy, error, start } = useRestoreStart(udid, onStarted);
  const list = sortBackups((backups ?? []).filter((b) => b.complete && (all || b.udid === udid)));
  const picked = source ?? list.find((b) => b.path === chosen) ?? null;
  const ready = !busy && picked !== null && (!picked.encrypted || password !== '');

  return (
    <Dialog title={`Restore ${deviceName} from a backup`} testid="restore-dialog" onClose={onClose} wide>
      <form
        method="dialog"
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (ready && picked) void start(picked);
        }}
      >
        <p>
          Restoring replaces the data on your iPhone with the data in the backup. Turn off Find My on the iPhone first.
        </p>
        {source ? (
          <p data-testid="restore-source">{source.label}</p>
        ) : (
          <>
            <label class="check">
              <input
                type="checkbox"
                checked={all}
                onChange={(e) => setAll(e.currentTarget.checked)}
                data-testid="restore-all"
              />
              Show backups of every device
            </label>
            <BackupChoices list={list} loading={backups === null} chosen={chosen} onChoose={setChosen} />
          </>
        )}
        {picked?.encrypted ? (
          <PasswordField
            label="Backup password"
            autocomplete="current-password"
            value={password}
            disabled={busy}
            onInput={setPassword}
            testid="restore-password"
          />
        ) : null}
        {error ? <ErrorBox error={error} testid="restore-error" /> : null}
        <div class="buttons">
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={!ready} data-testid="restore-submit">
            {busy ? 'Checking…' : 'Restore'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
