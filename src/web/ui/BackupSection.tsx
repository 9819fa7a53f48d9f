/**
 * The Backups part of the device page, as on Finder's General tab: Encrypt local backup,
 * Change Password…, Last backup, Manage Backups…, Back Up Now, Restore Backup… and the progress.
 */
import { useState } from 'preact/hooks';
import type { BackupRequest, BackupView, DeviceView, ErrorView, JobView } from '../api.js';
import { BackupFolder } from './BackupFolder.js';
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
  /** The backup folder changed: the page reads the backup list again. */
  onBackupsChanged?: () => void;
}

/** Back Up Now and Cancel: whether either request runs, and the last error. */
function useBackupJob(udid: string, job: JobView | null, onJob: (job: JobView) => void) {
  const [starting, setStarting] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [error, setError] = useState<ErrorView | null>(null);

  const backUp = async (body: BackupRequest): Promise<void> => {
    setStarting(true);
    setError(null);
    try {
      onJob((await api<{ job: JobView }>(`/api/devices/${seg(udid)}/backup`, body)).job);
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

  return { starting, cancelling, error, backUp, cancel };
}

/** "Verify the backup before it counts": the choice, the password it needs, the request it makes. */
function useVerifyOption(encrypted: boolean) {
  const [verify, setVerify] = useState(false);
  const [password, setPassword] = useState('');
  const needsPassword = verify && encrypted;
  const body: BackupRequest = verify ? { verify: true, ...(needsPassword ? { password } : {}) } : {};
  return { verify, setVerify, password, setPassword, needsPassword, body };
}

interface EncryptRowProps {
  encryption: boolean | null;
  running: boolean;
  onMode: (mode: PasswordMode) => void;
}

/** "Encrypt local backup" and Change Password…: both open the password dialog. */
function EncryptRow({ encryption, running, onMode }: EncryptRowProps) {
  return (
    <div class="encrypt-row">
      <label class="check">
        <input
          type="checkbox"
          checked={encryption === true}
          disabled={encryption === null || running}
          onClick={(e) => {
            e.preventDefault();
            onMode(encryption ? 'off' : 'on');
          }}
          data-testid="encrypt-checkbox"
        />
        Encrypt local backup
      </label>
      <button
        type="button"
        disabled={encryption !== true || running}
        onClick={() => onMode('change')}
        data-testid="change-password"
      >
        Change Password…
      </button>
    </div>
  );
}

function LastBackup({ iso }: { iso: string | null }) {
  const last = formatDate(iso);
  return (
    <p class="last-backup" data-testid="last-backup" data-date={iso ?? ''}>
      Last backup to this computer: {iso && last ? <time dateTime={iso}>{last}</time> : 'Never'}
    </p>
  );
}

interface VerifyRowProps {
  verify: boolean;
  running: boolean;
  needsPassword: boolean;
  password: string;
  onVerify: (on: boolean) => void;
  onPassword: (password: string) => void;
}

/** "Verify the backup before it counts", with the password an encrypted backup needs for it. */
function VerifyRow({ verify, running, needsPassword, password, onVerify, onPassword }: VerifyRowProps) {
  return (
    <div class="verify-row">
      <label class="check">
        <input
          type="checkbox"
          checked={verify}
          disabled={running}
          onChange={(e) => onVerify(e.currentTarget.checked)}
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
          value={password}
          onInput={(e) => onPassword(e.currentTarget.value)}
          data-testid="verify-password"
        />
      ) : null}
    </div>
  );
}

interface ActionButtonsProps {
  backUpDisabled: boolean;
  restoreDisabled: boolean;
  onManage: () => void;
  onBackUp: () => void;
  onRestore: () => void;
}

function ActionButtons({ backUpDisabled, restoreDisabled, onManage, onBackUp, onRestore }: ActionButtonsProps) {
  return (
    <div class="buttons left">
      <button type="button" onClick={onManage} data-testid="manage-backups">
        Manage Backups…
      </button>
      <button type="button" class="primary" disabled={backUpDisabled} onClick={onBackUp} data-testid="backup-now">
        Back Up Now
      </button>
      <button type="button" disabled={restoreDisabled} onClick={onRestore} data-testid="restore-backup">
        Restore Backup…
      </button>
    </div>
  );
}

/** What a finished password change did, and, once encryption is on, the backup that makes it real. */
function EncryptionDone({ mode, onBackUp }: { mode: PasswordMode; onBackUp: (() => void) | null }) {
  const text =
    mode === 'on'
      ? 'Encryption is on. The next backup is encrypted; backups made before it are not.'
      : mode === 'off'
        ? 'Encryption is off. Later backups are not encrypted.'
        : 'The backup password was changed. Use the new one to restore this iPhone’s backups.';
  return (
    <div class="notice" role="status" data-testid="encryption-done" data-mode={mode}>
      <p>{text}</p>
      {mode === 'on' && onBackUp ? (
        <button type="button" class="primary" onClick={onBackUp} data-testid="encryption-backup-now">
          Back Up Now (encrypted)
        </button>
      ) : null}
    </div>
  );
}

/** Why Back Up Now cannot be pressed now. */
function Blocked({ reason }: { reason: string }) {
  return (
    <p class="muted small" data-testid="backup-blocked">
      {reason}
    </p>
  );
}

export function BackupSection(props: BackupSectionProps) {
  const { device, job, backups, onJob, onEncryption, onManage } = props;
  const [passwordMode, setPasswordMode] = useState<PasswordMode | null>(null);
  const [changed, setChanged] = useState<PasswordMode | null>(null);
  const [restoring, setRestoring] = useState(false);
  const v = useVerifyOption(device.encryption === true);
  const run = useBackupJob(device.udid, job, onJob);
  const running = job?.state === 'running';
  const blocked = device.backupBlocked;
  const backUp = (): void => {
    setChanged(null);
    void run.backUp(v.body);
  };

  return (
    <section class="panel backups-section" aria-labelledby="backups-heading">
      <h2 id="backups-heading">Backups</h2>
      <p class="lead">Back up all of the data on your iPhone to this computer</p>
      <EncryptRow encryption={device.encryption} running={running} onMode={setPasswordMode} />
      <p class="muted small">Encrypted backups protect passwords and sensitive personal data.</p>
      <LastBackup iso={device.lastBackup} />
      <BackupFolder onChanged={() => props.onBackupsChanged?.()} />
      <ActionButtons
        backUpDisabled={blocked !== null || run.starting || running || (v.needsPassword && v.password === '')}
        restoreDisabled={blocked !== null || running}
        onManage={onManage}
        onBackUp={backUp}
        onRestore={() => setRestoring(true)}
      />
      <VerifyRow
        verify={v.verify}
        running={running}
        needsPassword={v.needsPassword}
        password={v.password}
        onVerify={v.setVerify}
        onPassword={v.setPassword}
      />
      {blocked !== null ? <Blocked reason={blocked} /> : null}
      {changed && !running ? <EncryptionDone mode={changed} onBackUp={blocked === null ? backUp : null} /> : null}
      {run.error ? <ErrorBox error={run.error} testid="backup-start-error" /> : null}
      {job ? <JobActivity job={job} onCancel={() => void run.cancel()} cancelling={run.cancelling} /> : null}
      {passwordMode ? (
        <PasswordDialog
          udid={device.udid}
          mode={passwordMode}
          onClose={() => setPasswordMode(null)}
          onDone={(on) => (setChanged(passwordMode), setPasswordMode(null), onEncryption(device.udid, on))}
        />
      ) : null}
      {restoring ? (
        <RestoreDialog
          udid={device.udid}
          deviceName={deviceTitle(device)}
          backups={backups}
          onClose={() => setRestoring(false)}
          onStarted={(j) => (setRestoring(false), onJob(j))}
        />
      ) : null}
    </section>
  );
}
