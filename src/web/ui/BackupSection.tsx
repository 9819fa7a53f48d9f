/**
 * The Backups part of the device page, as on Finder's General tab: Encrypt local backup,
 * Change Password…, Last backup, Manage Backups…, Back Up Now, Restore Backup… and the progress.
 */
import { useState } from 'preact/hooks';
import type { BackupView, DeviceView, ErrorView, JobView } from '../api.js';
import { ErrorBox } from './ErrorBox.js';
import { formatDate } from './format.js';
import { api, errorView, seg } from './http.js';
import { PasswordDialog, type PasswordMode } from './PasswordDialog.js';
import { JobActivity } from './Progress.js';
import { RestoreDialog } from './RestoreDialog.js';
import { deviceTitle } from './Sidebar.js';

export interface BackupSectionProps {
  device: DeviceView;
  /** The newest backup or restore job of this device. */
  job: JobView | null;
  backups: BackupView[] | null;
  onJob: (job: JobView) => void;
  onEncryption: (udid: string, on: boolean) => void;
  onManage: () => void;
}

export function BackupSection({ device, job, backups, onJob, onEncryption, onManage }: BackupSectionProps) {
  const [passwordMode, setPasswordMode] = useState<PasswordMode | null>(null);
  const [restoring, setRestoring] = useState(false);
  const [starting, setStarting] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [error, setError] = useState<ErrorView | null>(null);
  const [verify, setVerify] = useState(false);
  const [verifyPassword, setVerifyPassword] = useState('');
  const needsPassword = verify && device.encryption === true;
  const running = job?.state === 'running';
  const blocked = device.backupBlocked;
  const last = formatDate(device.lastBackup);

  const backUp = async (): Promise<void> => {
    setStarting(true);
    setError(null);
    try {
      const body = verify ? { verify: true, ...(needsPassword ? { password: verifyPassword } : {}) } : {};
      onJob((await api<{ job: JobView }>(`/api/devices/${seg(device.udid)}/backup`, body)).job);
    } catch (e) {
      setError(errorView(e));
    } finally {
      setStarting(false);
    }
  };

  const cancel = async (): Promise<void> => {
    if (!job) return;
    setCancelling(true);
    try {
      onJob((await api<{ job: JobView }>(`/api/jobs/${seg(job.id)}/cancel`, {})).job);
    } catch (e) {
      setError(errorView(e));
    } finally {
      setCancelling(false);
    }
  };

  return (
    <section class="panel backups-section" aria-labelledby="backups-heading">
      <h3 id="backups-heading">Backups</h3>
      <p class="lead">Back up all of the data on your iPhone to this computer</p>
      <div class="encrypt-row">
        <label class="check">
          <input
            type="checkbox"
            checked={device.encryption === true}
            disabled={device.encryption === null || running}
            onClick={(e) => {
              e.preventDefault();
              setPasswordMode(device.encryption ? 'off' : 'on');
            }}
            data-testid="encrypt-checkbox"
          />
          Encrypt local backup
        </label>
        <button
          type="button"
          disabled={device.encryption !== true || running}
          onClick={() => setPasswordMode('change')}
          data-testid="change-password"
        >
          Change Password…
        </button>
      </div>
      <p class="muted small">Encrypted backups protect passwords and sensitive personal data.</p>
      <p class="last-backup" data-testid="last-backup" data-date={device.lastBackup ?? ''}>
        Last backup to this computer:{' '}
        {device.lastBackup && last ? <time dateTime={device.lastBackup}>{last}</time> : 'Never'}
      </p>
      <div class="buttons left">
        <button type="button" onClick={onManage} data-testid="manage-backups">
          Manage Backups…
        </button>
        <button
          type="button"
          class="primary"
          disabled={blocked !== null || starting || running || (needsPassword && verifyPassword === '')}
          onClick={() => void backUp()}
          data-testid="backup-now"
        >
          Back Up Now
        </button>
        <button
          type="button"
          disabled={blocked !== null || running}
          onClick={() => setRestoring(true)}
          data-testid="restore-backup"
        >
          Restore Backup…
        </button>
      </div>
      <div class="verify-row">
        <label class="check">
          <input
            type="checkbox"
            checked={verify}
            disabled={running}
            onChange={(e) => setVerify(e.currentTarget.checked)}
            data-testid="verify-after-backup"
          />
          Verify the backup before it counts as complete (slower)
        </label>
        {needsPassword ? (
          <input
            type="password"
            autocomplete="off"
            placeholder="Backup password"
            aria-label="Backup password, to verify the encrypted backup"
            value={verifyPassword}
            onInput={(e) => setVerifyPassword(e.currentTarget.value)}
            data-testid="verify-password"
          />
        ) : null}
      </div>
      {blocked !== null ? (
        <p class="muted small" data-testid="backup-blocked">
          {blocked}
        </p>
      ) : null}
      {error ? <ErrorBox error={error} testid="backup-start-error" /> : null}
      {job ? <JobActivity job={job} onCancel={() => void cancel()} cancelling={cancelling} /> : null}
      {passwordMode ? (
        <PasswordDialog
          udid={device.udid}
          mode={passwordMode}
          onClose={() => setPasswordMode(null)}
          onDone={(on) => {
            setPasswordMode(null);
            onEncryption(device.udid, on);
          }}
        />
      ) : null}
      {restoring ? (
        <RestoreDialog
          udid={device.udid}
          deviceName={deviceTitle(device)}
          backups={backups}
          onClose={() => setRestoring(false)}
          onStarted={(j) => {
            setRestoring(false);
            onJob(j);
          }}
        />
      ) : null}
    </section>
  );
}
