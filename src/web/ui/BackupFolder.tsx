/**
 * Where backups go, on the device page: the folder, the room on its disk, and Change… (a full
 * path, checked by the server: it exists, ibackup can write in it, its disk makes hard links).
 */
import { useEffect, useState } from 'preact/hooks';
import type { ErrorView } from '../api.js';
import type { BackupFolderView } from '../api-settings.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes } from './format.js';
import { api, errorView } from './http.js';

const SOURCE: Record<BackupFolderView['source'], string> = {
  option: 'chosen with --backup-dir when ibackup ui was started',
  env: 'chosen with IBACKUP_BACKUP_DIR',
  setting: 'chosen here',
  default: 'the usual folder on this computer',
};

function ChangeDialog({
  current,
  onClose,
  onChanged,
}: {
  current: string;
  onClose: () => void;
  onChanged: (v: BackupFolderView) => void;
}) {
  const [path, setPath] = useState(current);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorView | null>(null);
  const submit = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await api<BackupFolderView>('/api/settings/backup-folder', { path: path.trim() }));
    } catch (e) {
      setError(errorView(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="Choose the backup folder" testid="folder-dialog" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <p>
          New backups go to this folder, and Manage Backups lists the backups in it. Type the full path of an existing
          folder on this computer; backups already made stay where they are.
        </p>
        <label class="field">
          Folder
          <input
            type="text"
            value={path}
            spellcheck={false}
            autocomplete="off"
            onInput={(e) => setPath(e.currentTarget.value)}
            data-testid="folder-input"
            autofocus
          />
        </label>
        {error ? <ErrorBox error={error} testid="folder-error" /> : null}
        <div class="buttons">
          <button type="button" onClick={onClose} data-testid="folder-cancel">
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || path.trim() === ''} data-testid="folder-submit">
            {busy ? 'Checking…' : 'Use This Folder'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function BackupFolder({ onChanged }: { onChanged: () => void }) {
  const [folder, setFolder] = useState<BackupFolderView | null>(null);
  const [changing, setChanging] = useState(false);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    api<BackupFolderView>('/api/settings/backup-folder')
      .then(setFolder)
      .catch(() => undefined);
  }, []);
  if (folder === null) return null;
  return (
    <div class="backup-folder" data-testid="backup-folder" data-path={folder.path}>
      <p class="small">
        Backups are saved in <code data-testid="backup-folder-path">{folder.path}</code>
        <span class="muted">
          {' '}
          ({SOURCE[folder.source]}
          {folder.freeBytes === null ? '' : `; ${formatBytes(folder.freeBytes)} free`})
        </span>{' '}
        <button type="button" class="link" onClick={() => setChanging(true)} data-testid="folder-change">
          Change…
        </button>
      </p>
      {saved ? (
        <p class="status ok small" role="status" data-testid="folder-saved">
          New backups go to this folder from now on.
        </p>
      ) : null}
      {changing ? (
        <ChangeDialog
          current={folder.path}
          onClose={() => setChanging(false)}
          onChanged={(v) => {
            setFolder(v);
            setChanging(false);
            setSaved(true);
            onChanged();
          }}
        />
      ) : null}
    </div>
  );
}
