/** Manage Backups…: every backup in the backup folder, newest first. */
import type { BackupView } from '../api.js';
import { BackupRow } from './BackupRow.js';
import { Dialog } from './Dialog.js';

export function sortBackups(backups: readonly BackupView[]): BackupView[] {
  return [...backups].sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
}

export interface ManageBackupsProps {
  backups: BackupView[] | null;
  backupDir: string | null;
  onClose: () => void;
  onChanged: () => void;
}

export function ManageBackups({ backups, backupDir, onClose, onChanged }: ManageBackupsProps) {
  return (
    <Dialog title="Manage Backups" testid="backups-dialog" onClose={onClose} wide>
      {backupDir ? (
        <p class="muted small">
          Backups in <code>{backupDir}</code>
        </p>
      ) : null}
      {backups === null ? <p>Loading…</p> : null}
      {backups !== null && backups.length === 0 ? (
        <p data-testid="no-backups">There are no backups on this computer yet.</p>
      ) : null}
      {backups !== null && backups.length > 0 ? (
        <div class="table-wrap">
          <table class="backups" data-testid="backups-table">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Date</th>
                <th scope="col">Size</th>
                <th scope="col">Encryption</th>
                <th scope="col">Kind</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sortBackups(backups).map((b) => (
                <BackupRow key={b.path} backup={b} onChanged={onChanged} listed={backups.map((x) => x.path)} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <div class="buttons">
        <button type="button" class="primary" onClick={onClose} data-testid="backups-close">
          Done
        </button>
      </div>
    </Dialog>
  );
}
