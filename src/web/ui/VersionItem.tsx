/**
 * One version of a phone's backup: when it completed, what it is and holds, and Browse, Verify,
 * Compare with previous, Restore…, Archive, Pin and Delete. Every request names the phone's row
 * and the version's id; the server finds the folder.
 */
import { useState } from 'preact/hooks';
import type { BackupView, ErrorView, HistoryView, VersionDiffView, VersionView, VerifyResponse } from '../api.js';
import { BrowseDialog } from './BrowseDialog.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes } from './format.js';
import { api, ApiFailure, errorView } from './http.js';
import { versionDate, versionFacts } from './history-text.js';
import { DeleteVersionDialog, DiffResult } from './VersionResults.js';
import { VersionRestore } from './VersionRestore.js';
import { VerifyResult } from './VerifyResult.js';

/** The panel's passwords: `run` gets the version's password (asked once), or undefined when it needs none. */
export interface Passwords {
  withPassword(version: VersionView, action: string, run: (password: string | undefined) => void): void;
  forget(version: VersionView): void;
}

export interface VersionItemProps {
  row: BackupView;
  version: VersionView;
  /** The version before this one (null for the oldest). */
  previous: VersionView | null;
  passwords: Passwords;
  onHistory: (h: HistoryView) => void;
  /** A version went or came: the history and the backup list are fetched again. */
  onChanged: () => void;
}

type Open = 'browse' | 'restore' | 'delete' | null;

function useVersionActions({ row, version, passwords, onHistory, onChanged }: VersionItemProps) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const [verified, setVerified] = useState<VerifyResponse | null>(null);
  const [diff, setDiff] = useState<VersionDiffView | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const target = { path: row.path, version: version.id };

  const run = async (what: string, work: () => Promise<void>): Promise<void> => {
    setBusy(what);
    setError(null);
    try {
      await work();
    } catch (e) {
      if (e instanceof ApiFailure && e.view.code === 'WRONG_PASSWORD') passwords.forget(version);
      setError(errorView(e));
    } finally {
      setBusy(null);
    }
  };
  const withPw = (body: object, password: string | undefined) =>
    password === undefined ? { ...target, ...body } : { ...target, ...body, password };

  return {
    busy,
    error,
    verified,
    diff,
    note,
    setNote,
    verify: () =>
      passwords.withPassword(version, 'Verify', (pw) => {
        setVerified(null);
        void run('verify', async () => setVerified(await api<VerifyResponse>('/api/history/verify', withPw({}, pw))));
      }),
    compare: () =>
      passwords.withPassword(version, 'Compare with previous', (pw) => {
        setDiff(null);
        void run('diff', async () => setDiff(await api<VersionDiffView>('/api/history/diff', withPw({}, pw))));
      }),
    pin: () =>
      void run('pin', async () =>
        onHistory(await api<HistoryView>('/api/history/pin', { ...target, pinned: !version.pinned })),
      ),
    archive: () =>
      void run('archive', async () => {
        const r = await api<{ archive: string }>('/api/history/archive', target);
        setNote(`Archived as ${r.archive}; Finder lists it as an archived backup.`);
        onChanged();
      }),
    remove: () =>
      void run('delete', async () => {
        await api<{ deleted: string }>('/api/history/delete', target);
        onChanged();
      }),
  };
}

function Badges({ version }: { version: VersionView }) {
  return (
    <>
      {version.current ? (
        <span class="tag" data-testid="current-badge">
          Current
        </span>
      ) : null}
      {version.pinned ? (
        <span class="tag" data-testid="pinned-badge">
          Pinned
        </span>
      ) : null}
      {version.encrypted ? <span class="tag">Encrypted</span> : <span class="tag muted">Not encrypted</span>}
      {version.earlierPassword ? (
        <span class="tag warn" title="Encrypted under the backup password used before the latest one">
          Earlier password
        </span>
      ) : null}
    </>
  );
}

interface ButtonsProps {
  version: VersionView;
  previous: VersionView | null;
  busy: string | null;
  onOpen: (o: Open) => void;
  actions: ReturnType<typeof useVersionActions>;
}

function VersionButtons({ version, previous, busy, onOpen, actions }: ButtonsProps) {
  const b = (id: string, label: string, onClick: () => void, working?: string, cls?: string) => (
    <button type="button" class={cls} disabled={busy !== null} onClick={onClick} data-testid={`version-${id}`}>
      {busy === id && working ? working : label}
    </button>
  );
  return (
    <div class="buttons left">
      {b('browse', 'Browse', () => onOpen('browse'))}
      {b('verify', 'Verify', actions.verify, 'Verifying…')}
      {previous ? b('diff', 'Compare with previous', actions.compare, 'Comparing…') : null}
      {b('restore', 'Restore…', () => onOpen('restore'))}
      {b('archive', 'Archive', actions.archive, 'Archiving…')}
      {b('pin', version.pinned ? 'Unpin' : 'Pin', actions.pin)}
      {b('delete', 'Delete…', () => onOpen('delete'), 'Deleting…', 'danger')}
    </div>
  );
}

interface DialogsProps extends VersionItemProps {
  open: Open;
  browsePassword: string | undefined;
  onClose: () => void;
  onNote: (note: string) => void;
  onRemove: () => void;
}

/** The dialog a version's button opened: Browse, Restore… or Delete…. */
function VersionDialogs(props: DialogsProps) {
  const { row, version, previous, passwords, open, browsePassword, onClose, onNote, onRemove } = props;
  return (
    <>
      {open === 'browse' ? (
        <BrowseDialog
          row={row}
          version={version}
          password={browsePassword}
          onWrongPassword={() => passwords.forget(version)}
          onClose={onClose}
        />
      ) : null}
      {open === 'restore' ? (
        <VersionRestore
          row={row}
          version={version}
          onClose={onClose}
          onStarted={(name) => {
            onClose();
            onNote(`Restoring ${name} from this version: follow it on the iPhone’s page.`);
          }}
        />
      ) : null}
      {open === 'delete' ? (
        <DeleteVersionDialog
          version={version}
          previous={previous}
          onCancel={onClose}
          onConfirm={() => {
            onClose();
            onRemove();
          }}
        />
      ) : null}
    </>
  );
}

export function VersionItem(props: VersionItemProps) {
  const { version, previous, passwords } = props;
  const [open, setOpen] = useState<Open>(null);
  const [browsePassword, setBrowsePassword] = useState<string | undefined>(undefined);
  const actions = useVersionActions(props);
  const date = versionDate(version);
  const onOpen = (o: Open): void => {
    if (o !== 'browse') return setOpen(o);
    passwords.withPassword(version, 'Browse', (pw) => {
      setBrowsePassword(pw);
      setOpen('browse');
    });
  };
  return (
    <li class="version" data-testid="version-row" data-id={version.id} data-current={version.current ? 'yes' : 'no'}>
      <div class="version-head">
        <time class="cell-main" dateTime={version.date} data-testid="version-date">
          {date}
        </time>
        <Badges version={version} />
      </div>
      <p class="cell-sub" data-testid="version-facts">
        {versionFacts(version)} · Only here:{' '}
        <span data-testid="version-unique">{formatBytes(version.uniqueBytes)}</span>
      </p>
      <VersionButtons version={version} previous={previous} busy={actions.busy} onOpen={onOpen} actions={actions} />
      {actions.verified ? <VerifyResult result={actions.verified} /> : null}
      {actions.diff ? <DiffResult diff={actions.diff} /> : null}
      {actions.note ? (
        <p class="status ok small" data-testid="version-note">
          {actions.note}
        </p>
      ) : null}
      {actions.error ? <ErrorBox error={actions.error} testid="version-error" /> : null}
      <VersionDialogs
        {...props}
        open={open}
        browsePassword={browsePassword}
        onClose={() => setOpen(null)}
        onNote={actions.setNote}
        onRemove={actions.remove}
      />
    </li>
  );
}
