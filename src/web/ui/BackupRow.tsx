/** One backup in Manage Backups, with Verify, Show Path, Archive and Delete; a phone's with its versions. */
import { useRef, useState } from 'preact/hooks';
import type { BackupView, ErrorView, VerifyRequest, VerifyResponse } from '../api.js';
import { BackupBrowser } from './BackupBrowser.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './ErrorBox.js';
import { ExportButton } from './ExportDialog.js';
import { formatBytes, formatDate, kindLabel } from './format.js';
import { HistoryPanel } from './HistoryPanel.js';
import { plural, versionsSummary } from './history-text.js';
import { api, errorView } from './http.js';
import { PasswordPrompt } from './PasswordPrompt.js';
import { VerifyResult } from './VerifyResult.js';

type Ask = 'verify-password' | 'delete' | 'browse' | null;

/** Verify, Archive and Delete of one backup: which one runs, and what came of it. */
function useBackupActions(backup: BackupView, onChanged: () => void) {
  const [busy, setBusy] = useState<string | null>(null);
  const [verified, setVerified] = useState<VerifyResponse | null>(null);
  const [archived, setArchived] = useState<string | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);

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
    setVerified(null);
    const body: VerifyRequest = { path: backup.path };
    if (password !== undefined) body.password = password;
    void run('verify', async () => setVerified(await api<VerifyResponse>('/api/backups/verify', body)));
  };

  const remove = (): void =>
    void run('delete', async () => {
      await api<{ deleted: string }>('/api/backups/delete', { path: backup.path });
      onChanged();
    });

  const archive = (): void =>
    void run('archive', async () => {
      const r = await api<{ archive: string }>('/api/backups/archive', { path: backup.path });
      setArchived(r.archive);
      onChanged();
    });

  return { busy, verified, archived, error, verify, remove, archive };
}

/** What the row is: the phone's backup (noting a run that did not finish), or an archive and when it was made. */
function KindCell({ backup }: { backup: BackupView }) {
  const archivedOn = backup.kind === 'archive' ? archiveDate(backup.path) : null;
  return (
    <td>
      <span data-testid="backup-kind">
        {!backup.complete && backup.unfinished === undefined ? 'Unfinished' : kindLabel(backup.kind)}
      </span>
      {archivedOn ? <span class="cell-sub">archived {archivedOn}</span> : null}
      {backup.unfinished !== undefined ? (
        <span class="cell-sub status warn" data-testid="backup-unfinished">
          The last backup did not finish; this is the last complete one.
        </span>
      ) : null}
      {!backup.complete && backup.unfinished === undefined ? (
        <span class="cell-sub status warn" data-testid="backup-incomplete">
          Did not finish: it cannot be restored. Back up again, or delete it.
        </span>
      ) : null}
      {backup.versions ? (
        <span class="cell-sub" data-testid="versions-summary">
          {versionsSummary(backup.versions.count, backup.versions.bytes)}
        </span>
      ) : null}
    </td>
  );
}

/** When an archive was made, from its folder's name (`<UDID>-YYYYMMDD-HHMMSS`, local time). */
function archiveDate(path: string): string | null {
  const m = /-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(path.replace(/[\\/]+$/, ''));
  if (!m) return null;
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  return formatDate(new Date(y!, mo! - 1, d, h, mi, se).toISOString());
}

/** Device, date, size, encryption and kind of one backup. */
function BackupCells({ backup, name, date }: { backup: BackupView; name: string; date: string }) {
  return (
    <>
      <td>
        <span class="cell-main" title={name}>
          {name}
        </span>
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
      </td>
      <KindCell backup={backup} />
    </>
  );
}

interface RowButtonsProps {
  backup: BackupView;
  busy: string | null;
  showPath: boolean;
  showVersions: boolean;
  onVerify: () => void;
  onToggleVersions: () => void;
  onTogglePath: () => void;
  onArchive: () => void;
  onDelete: () => void;
  onBrowse: () => void;
}

function RowButtons(props: RowButtonsProps) {
  const { backup, busy, showPath, onVerify, onTogglePath, onArchive, onDelete } = props;
  return (
    <div class="buttons left">
      {backup.versions ? (
        <button
          type="button"
          onClick={props.onToggleVersions}
          aria-expanded={props.showVersions}
          data-testid="history-toggle"
        >
          {props.showVersions ? 'Hide versions' : 'Show versions'}
        </button>
      ) : null}
      <button type="button" disabled={busy !== null} onClick={onVerify} data-testid="verify-button">
        {busy === 'verify' ? 'Verifying…' : 'Verify'}
      </button>
      <button type="button" onClick={props.onBrowse} data-testid="browse-button">
        Browse…
      </button>
      <ExportButton backup={backup} />
      <button type="button" onClick={onTogglePath} aria-expanded={showPath} data-testid="path-button">
        Show Path
      </button>
      {backup.complete && backup.kind !== 'archive' ? (
        <button type="button" disabled={busy !== null} onClick={onArchive} data-testid="archive-button">
          {busy === 'archive' ? 'Archiving…' : 'Archive'}
        </button>
      ) : null}
      <button type="button" class="danger" disabled={busy !== null} onClick={onDelete} data-testid="delete-button">
        {busy === 'delete' ? 'Deleting…' : 'Delete…'}
      </button>
    </div>
  );
}

/** The backup's folder, selectable, with Copy. */
function PathRow({ path, copied, onCopy }: { path: string; copied: boolean; onCopy: () => void }) {
  return (
    <div class="path-row">
      <input
        type="text"
        readonly
        value={path}
        aria-label="Backup folder"
        data-testid="backup-path"
        onFocus={(e) => e.currentTarget.select()}
      />
      <button type="button" onClick={onCopy} data-testid="copy-path">
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

interface DeleteDialogProps {
  name: string;
  date: string;
  versions: BackupView['versions'];
  onCancel: () => void;
  onConfirm: () => void;
}

function DeleteDialog({ name, date, versions, onCancel, onConfirm }: DeleteDialogProps) {
  return (
    <Dialog title="Delete backup?" testid="delete-dialog" onClose={onCancel}>
      <p>
        The backup of {name} from {date} is deleted from this computer. This cannot be undone.
      </p>
      {versions && versions.count > 1 ? (
        <p data-testid="delete-versions">
          All {plural(versions.count, 'version')} of this iPhone’s backup go with it: {formatBytes(versions.bytes)}{' '}
          freed in all. To delete only one version, use Show versions.
        </p>
      ) : null}
      <div class="buttons">
        <button type="button" onClick={onCancel} data-testid="delete-cancel" autofocus>
          Cancel
        </button>
        <button type="button" class="danger primary" onClick={onConfirm} data-testid="confirm-delete">
          Delete
        </button>
      </div>
    </Dialog>
  );
}

/** Copy the path to the clipboard; "Copied" once it is there. */
function useCopy(text: string): [boolean, () => void] {
  const [copied, setCopied] = useState(false);
  const copy = (): void => {
    navigator.clipboard?.writeText(text).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };
  return [copied, copy];
}

interface AsksProps {
  ask: Ask;
  backup: BackupView;
  name: string;
  date: string;
  onVerify: (password: string) => void;
  onDelete: () => void;
  onClose: () => void;
}

/** The password asked for Verify, or the confirmation asked for Delete. */
function RowAsks({ ask, backup, name, date, onVerify, onDelete, onClose }: AsksProps) {
  if (ask === 'verify-password') {
    return (
      <PasswordPrompt
        title="Verify encrypted backup"
        text={`Enter the password of the backup of ${name} from ${date}.`}
        action="Verify"
        onSubmit={onVerify}
        onClose={onClose}
      />
    );
  }
  if (ask === 'browse') return <BackupBrowser backup={backup} onClose={onClose} />;
  if (ask === 'delete') {
    // Only the phone's own row takes its history with it (a row showing a version deletes that version).
    const versions = backup.kind === 'current' ? backup.versions : undefined;
    return <DeleteDialog name={name} date={date} versions={versions} onCancel={onClose} onConfirm={onDelete} />;
  }
  return null;
}

/** What Verify, Archive or a failed action left to say on the row. */
function RowResults({
  actions,
  listed,
}: {
  actions: ReturnType<typeof useBackupActions>;
  listed: readonly string[] | undefined;
}) {
  // Once the archive has been listed, its note goes with it when it is deleted.
  const seen = useRef<string | null>(null);
  const listedNow = actions.archived !== null && stillListed(actions.archived, listed);
  if (listedNow) seen.current = actions.archived;
  return (
    <>
      {actions.verified ? <VerifyResult result={actions.verified} /> : null}
      {actions.archived && (listedNow || seen.current !== actions.archived) ? (
        <p class="status ok" data-testid="archive-result">
          Archived as {actions.archived}
        </p>
      ) : null}
      {actions.error ? <ErrorBox error={actions.error} testid="backup-error" /> : null}
    </>
  );
}

/** Whether the archive just made is still in the list (it may have been deleted since). */
function stillListed(archive: string, listed: readonly string[] | undefined): boolean {
  if (listed === undefined) return true;
  const name = archive
    .replace(/[\\/]+$/, '')
    .split(/[\\/]/)
    .pop();
  return listed.some(
    (p) =>
      p === archive ||
      p
        .replace(/[\\/]+$/, '')
        .split(/[\\/]/)
        .pop() === name,
  );
}

interface BackupRowProps {
  backup: BackupView;
  onChanged: () => void;
  /** The paths of every listed backup. */
  listed?: readonly string[];
}

export function BackupRow({ backup, onChanged, listed }: BackupRowProps) {
  const [ask, setAsk] = useState<Ask>(null);
  const [showPath, setShowPath] = useState(false);
  const [showVersions, setShowVersions] = useState(false);
  const [copied, copy] = useCopy(backup.path);
  const actions = useBackupActions(backup, onChanged);
  const name = backup.deviceName ?? backup.udid;
  const date = formatDate(backup.date, { seconds: true }) ?? 'unknown date';

  const verify = (password?: string): void => {
    setAsk(null);
    actions.verify(password);
  };

  return (
    <>
      <tr data-testid="backup-row" data-path={backup.path} data-udid={backup.udid}>
        <BackupCells backup={backup} name={name} date={date} />
        <td class="row-actions">
          <RowButtons
            backup={backup}
            busy={actions.busy}
            showPath={showPath}
            showVersions={showVersions}
            onVerify={() => (backup.encrypted ? setAsk('verify-password') : verify())}
            onToggleVersions={() => setShowVersions(!showVersions)}
            onTogglePath={() => setShowPath(!showPath)}
            onArchive={actions.archive}
            onDelete={() => setAsk('delete')}
            onBrowse={() => setAsk('browse')}
          />
          {showPath ? <PathRow path={backup.path} copied={copied} onCopy={copy} /> : null}
          <RowResults actions={actions} listed={listed} />
          <RowAsks
            ask={ask}
            backup={backup}
            name={name}
            date={date}
            onVerify={verify}
            onClose={() => setAsk(null)}
            onDelete={() => {
              setAsk(null);
              actions.remove();
            }}
          />
        </td>
      </tr>
      {showVersions && backup.versions ? (
        <tr class="history-row" data-testid="history-row" data-path={backup.path}>
          <td colSpan={6}>
            <HistoryPanel row={backup} onChanged={onChanged} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
