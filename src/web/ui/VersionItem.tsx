/**
 * One version of a phone's backup: when it completed, what it is and holds, and Browse, Verify,
 * Compare with previous, Restore…, Archive, Pin and Delete. Every request names the phone's row
 * and the version's id; the server finds the folder.
 */
import { useState } from 'preact/hooks';
import type { BackupView, ErrorView, HistoryView, VersionDiffView, VersionView, VerifyResponse } from '../api.js';
import { BackupBrowser } from './BackupBrowser.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes } from './format.js';
import { api, ApiFailure, errorView } from './http.js';
import { versionDate, versionFacts } from './history-text.js';
import { DeleteVersionDialog, DiffResult } from './VersionResults.js';
import { VersionRestore } from './VersionRestore.js';
import { VerifyResult } from './VerifyResult.js';

/**
 * The panel's passwords: `run` gets the version's password (asked once), or undefined when it
 * needs none, and whether it is one remembered from before (not typed for this action).
 */
export interface Passwords {
  withPassword(
    version: VersionView,
    action: string,
    run: (password: string | undefined, remembered: boolean) => void,
    /** The password remembered for it was just refused. */
    refused?: boolean,
  ): void;
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

function withPassword(target: object, password: string | undefined): object {
  return password === undefined ? target : { ...target, password };
}

/** One request at a time: which runs, and its error; a remembered password refused is forgotten and asked for (`retry`). */
function useRun(passwords: Passwords, version: VersionView) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const run = async (what: string, work: () => Promise<void>, retry?: () => void): Promise<void> => {
    setBusy(what);
    setError(null);
    try {
      await work();
    } catch (e) {
      const wrong = e instanceof ApiFailure && e.view.code === 'WRONG_PASSWORD';
      if (wrong) passwords.forget(version);
      if (wrong && retry) return retry();
      setError(errorView(e));
    } finally {
      setBusy(null);
    }
  };
  return { busy, error, run };
}

function useVersionActions({ row, version, passwords, onHistory, onChanged }: VersionItemProps) {
  const { busy, error, run } = useRun(passwords, version);
  const [verified, setVerified] = useState<VerifyResponse | null>(null);
  const [diff, setDiff] = useState<VersionDiffView | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const target = { path: row.path, version: version.id };

  return {
    busy,
    error,
    verified,
    diff,
    note,
    setNote,
    verify: function verify(again = false): void {
      const ask = (pw: string | undefined, remembered: boolean): void => {
        setVerified(null);
        const work = async () =>
          setVerified(await api<VerifyResponse>('/api/history/verify', withPassword(target, pw)));
        void run('verify', work, remembered ? () => verify(true) : undefined);
      };
      passwords.withPassword(version, 'Verify', ask, again);
    },
    compare: function compare(again = false): void {
      const ask = (pw: string | undefined, remembered: boolean): void => {
        setDiff(null);
        const work = async () => setDiff(await api<VersionDiffView>('/api/history/diff', withPassword(target, pw)));
        void run('diff', work, remembered ? () => compare(true) : undefined);
      };
      passwords.withPassword(version, 'Compare with previous', ask, again);
    },
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
        <span
          class="tag warn"
          title="Encrypted under the backup password used before the latest one"
          data-testid="earlier-password"
        >
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
      {b('browse', 'Browse…', () => onOpen('browse'))}
      {b('verify', 'Verify', () => actions.verify(), 'Verifying…')}
      {previous ? b('diff', 'Compare with previous', () => actions.compare(), 'Comparing…') : null}
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
  /** Browse's password was refused. */
  onBrowseRefused: () => void;
  onClose: () => void;
  onNote: (note: string) => void;
  onRemove: () => void;
}

/** The dialog a version's button opened: Browse, Restore… or Delete…. */
function VersionDialogs(props: DialogsProps) {
  const { row, version, previous, open, browsePassword, onBrowseRefused, onClose, onNote, onRemove } = props;
  return (
    <>
      {open === 'browse' ? (
        <BackupBrowser
          backup={row}
          version={version}
          password={browsePassword}
          onWrongPassword={onBrowseRefused}
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
  const [browse, setBrowse] = useState<{ password: string | undefined; remembered: boolean }>({
    password: undefined,
    remembered: false,
  });
  const actions = useVersionActions(props);
  const date = versionDate(version);
  const openBrowse = (again = false): void =>
    passwords.withPassword(
      version,
      'Browse',
      (password, remembered) => {
        setBrowse({ password, remembered });
        setOpen('browse');
      },
      again,
    );
  const onOpen = (o: Open): void => (o === 'browse' ? openBrowse() : setOpen(o));
  // A refused password is forgotten; one remembered from before is asked for again at once.
  const onBrowseRefused = (): void => {
    passwords.forget(version);
    if (!browse.remembered) return;
    setOpen(null);
    openBrowse(true);
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
        browsePassword={browse.password}
        onBrowseRefused={onBrowseRefused}
        onClose={() => setOpen(null)}
        onNote={actions.setNote}
        onRemove={actions.remove}
      />
    </li>
  );
}
