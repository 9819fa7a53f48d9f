/**
 * Export…: readable copies of one backup — contacts (vCard), messages (HTML, CSV or JSON, all
 * conversations or one picked from the backup), calls, notes, voicemail — written into a folder
 * of this computer, with progress, what was written and what the backup lacks.
 */
import { useEffect, useState } from 'preact/hooks';
import type { BackupView, ConversationsResponse, ErrorView, ExportRequest, JobView } from '../api.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './ErrorBox.js';
import { api, errorView, seg } from './http.js';
import { PasswordField } from './PasswordField.js';
import { ProgressBar } from './Progress.js';

type Kind = ExportRequest['kind'];

const KINDS: readonly { kind: Kind; label: string; formats: string[] }[] = [
  { kind: 'contacts', label: 'Contacts (vCard)', formats: ['vcf'] },
  { kind: 'messages', label: 'Messages', formats: ['html', 'csv', 'json'] },
  { kind: 'calls', label: 'Call history', formats: ['csv', 'json'] },
  { kind: 'notes', label: 'Notes', formats: ['html', 'txt'] },
  { kind: 'voicemail', label: 'Voicemail', formats: ['csv', 'json'] },
];

type Conversation = ConversationsResponse['conversations'][number];

/** The job of the export, read again every 400 ms until it ends. */
function useJob(initial: JobView | null): JobView | null {
  const [job, setJob] = useState<JobView | null>(initial);
  useEffect(() => setJob(initial), [initial]);
  useEffect(() => {
    if (job === null || job.state !== 'running') return;
    const t = setTimeout(() => {
      api<{ job: JobView }>(`/api/jobs/${seg(job.id)}`).then(
        (r) => setJob(r.job),
        () => setJob({ ...job }),
      );
    }, 400);
    return () => clearTimeout(t);
  }, [job]);
  return job;
}

function ConversationPicker(p: { list: Conversation[]; value: string; onChange: (v: string) => void }) {
  return (
    <label>
      Conversation
      <select value={p.value} onChange={(e) => p.onChange(e.currentTarget.value)} data-testid="export-chat">
        <option value="">All conversations</option>
        {p.list.map((c) => (
          <option key={c.identifier} value={c.identifier} disabled={c.messages === 0}>
            {c.title} — {c.messages === 0 ? 'no messages in this backup' : `${c.messages} messages`}
          </option>
        ))}
      </select>
    </label>
  );
}

function JobResultView({ job, onCancel }: { job: JobView; onCancel: () => void }) {
  if (job.state === 'running')
    return (
      <div data-testid="export-progress">
        <ProgressBar percent={job.percent} label="Export" testid="export-bar" />
        <div class="buttons">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </div>
    );
  if (job.state !== 'done') return job.error ? <ErrorBox error={job.error} testid="export-error" /> : <p>Cancelled.</p>;
  const r = job.result?.export;
  return (
    <div data-testid="export-done">
      <p>
        Exported {r?.items ?? 0} {r?.kind ?? 'items'} ({r?.format}, {r?.files ?? 0} files) into <code>{r?.out}</code>.
      </p>
      {job.warnings.length > 0 ? (
        <ul class="warnings" data-testid="export-warnings">
          {job.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

type Form = ReturnType<typeof useExportForm>;

/** The form's values, the conversation list and the job, with the two requests. */
function useExportForm(backup: BackupView) {
  const [kind, setKind] = useState<Kind>('contacts');
  const [format, setFormat] = useState('');
  const [out, setOut] = useState('');
  const [chat, setChat] = useState('');
  const [since, setSince] = useState('');
  const [password, setPassword] = useState('');
  const [list, setList] = useState<Conversation[] | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const [started, setStarted] = useState<JobView | null>(null);
  const job = useJob(started);
  const call = async (run: () => Promise<void>): Promise<void> => {
    setError(null);
    try {
      await run();
    } catch (e) {
      setError(errorView(e));
    }
  };
  const loadConversations = (): Promise<void> =>
    call(async () => {
      const body = { path: backup.path, ...(backup.encrypted ? { password } : {}) };
      setList((await api<ConversationsResponse>('/api/backups/conversations', body)).conversations);
    });
  const start = (): Promise<void> =>
    call(async () => {
      const body: ExportRequest = { path: backup.path, kind, out };
      if (format !== '') body.format = format;
      if (kind === 'messages' && chat !== '') body.chat = chat;
      if (since !== '' && kind !== 'contacts' && kind !== 'notes') body.since = since;
      if (backup.encrypted) body.password = password;
      setStarted((await api<{ job: JobView }>('/api/backups/export', body)).job);
    });
  const chooseKind = (k: Kind): void => {
    setKind(k);
    setFormat('');
  };
  const running = job?.state === 'running';
  const ready = !running && out !== '' && !(backup.encrypted && password === '');
  return {
    ...{ kind, chooseKind, format, setFormat, out, setOut, chat, setChat, since, setSince, password, setPassword },
    ...{ list, error, job, running, ready, loadConversations, start },
  };
}

/** What, in which format, into which folder. */
function MainFields({ f }: { f: Form }) {
  const formats = KINDS.find((k) => k.kind === f.kind)?.formats ?? [];
  return (
    <>
      <label>
        What
        <select
          value={f.kind}
          disabled={f.running}
          onChange={(e) => f.chooseKind(e.currentTarget.value as Kind)}
          data-testid="export-kind"
        >
          {KINDS.map((k) => (
            <option key={k.kind} value={k.kind}>
              {k.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Format
        <select
          value={f.format}
          disabled={f.running}
          onChange={(e) => f.setFormat(e.currentTarget.value)}
          data-testid="export-format"
        >
          {formats.map((x, i) => (
            <option key={x} value={i === 0 ? '' : x}>
              {x.toUpperCase()}
            </option>
          ))}
        </select>
      </label>
      <label>
        Folder on this computer (full path)
        <input
          type="text"
          value={f.out}
          disabled={f.running}
          placeholder="/home/me/Exports"
          onInput={(e) => f.setOut(e.currentTarget.value)}
          data-testid="export-out"
        />
      </label>
    </>
  );
}

/** The password of an encrypted backup, the conversation picker and the start date. */
function ExtraFields({ f, encrypted }: { f: Form; encrypted: boolean }) {
  const picker =
    f.list === null ? (
      <button
        type="button"
        disabled={(encrypted && f.password === '') || f.running}
        onClick={() => void f.loadConversations()}
        data-testid="export-load-chats"
      >
        Choose a conversation…
      </button>
    ) : (
      <ConversationPicker list={f.list} value={f.chat} onChange={f.setChat} />
    );
  return (
    <>
      {encrypted ? (
        <PasswordField
          label="Backup password"
          autocomplete="current-password"
          value={f.password}
          onInput={f.setPassword}
          disabled={f.running}
          testid="export-password"
        />
      ) : null}
      {f.kind === 'messages' ? picker : null}
      {f.kind === 'messages' || f.kind === 'calls' || f.kind === 'voicemail' ? (
        <label>
          Since (optional)
          <input
            type="date"
            value={f.since}
            disabled={f.running}
            onInput={(e) => f.setSince(e.currentTarget.value)}
            data-testid="export-since"
          />
        </label>
      ) : null}
    </>
  );
}

export function ExportDialog({ backup, onClose }: { backup: BackupView; onClose: () => void }) {
  const f = useExportForm(backup);
  const job = f.job;
  return (
    <Dialog
      title={`Export from the backup of ${backup.deviceName ?? backup.udid}`}
      testid="export-dialog"
      onClose={onClose}
      wide
    >
      <form
        method="dialog"
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (f.ready) void f.start();
        }}
      >
        <MainFields f={f} />
        <ExtraFields f={f} encrypted={backup.encrypted} />
        {f.error ? <ErrorBox error={f.error} testid="export-error" /> : null}
        {job ? <JobResultView job={job} onCancel={() => void api(`/api/jobs/${seg(job.id)}/cancel`, {})} /> : null}
        <div class="buttons">
          <button type="button" onClick={onClose} disabled={f.running}>
            Close
          </button>
          <button type="submit" class="primary" disabled={!f.ready} data-testid="export-submit">
            {f.running ? 'Exporting…' : 'Export'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The Export… button of a backup row, with its dialog. */
export function ExportButton({ backup }: { backup: BackupView }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setOpen(true)} data-testid="export-button">
        Export…
      </button>
      {open ? <ExportDialog backup={backup} onClose={() => setOpen(false)} /> : null}
    </>
  );
}
