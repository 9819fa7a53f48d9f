/** The progress of a backup or restore: bar, percent, bytes, speed, time left, Cancel. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Ref } from 'preact';
import type { JobView } from '../api.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes, formatEta, formatSpeed } from './format.js';

export function ProgressBar({ percent, label, testid }: { percent: number | null; label: string; testid: string }) {
  const p = percent === null ? null : Math.max(0, Math.min(100, Math.round(percent)));
  return (
    <div
      class={p === null ? 'bar indeterminate' : 'bar'}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={p ?? undefined}
      aria-valuetext={p === null ? 'Preparing' : `${p}%`}
      data-testid={testid}
    >
      {/* keyed: no width animation between "preparing" (full, faint) and the first percent */}
      <div key={p === null ? 'preparing' : 'percent'} class="bar-fill" style={{ width: `${p ?? 100}%` }} />
    </div>
  );
}

const PHASES: Record<string, string> = {
  preparing: 'Preparing…',
  'waiting-for-passcode': 'Enter your passcode on the iPhone to allow the backup.',
  'device-preparing': 'The iPhone is preparing the backup — this can take several minutes on a phone with many files.',
  checking: 'Checking the files the iPhone reused from the interrupted backup…',
  verifying: 'Verifying the new backup…',
  'backing-up': 'Backing up…',
  restoring: 'Restoring…',
  finishing: 'Finishing…',
};

/** How a finished job ended, in the words of a person (a cancel is not an error). */
function doneText(job: JobView): string {
  const what = job.kind === 'restore' ? 'Restore' : 'Backup';
  if (job.state === 'done')
    return job.kind === 'restore'
      ? 'Restore complete. Your iPhone restarts and then finishes restoring.'
      : 'Backup complete.';
  if (job.state === 'cancelled') {
    const onPhone = job.error?.message.includes('on the iPhone') === true;
    const who = onPhone ? `${what} cancelled on the iPhone.` : `${what} cancelled.`;
    return job.kind === 'restore'
      ? `${who} Restore again to finish putting the backup on the iPhone.`
      : `${who} Your last complete backup is unchanged.`;
  }
  return `${what} failed.`;
}

/** Seconds since the job's view arrived, ticking while it runs (a silent job's estimate ages). */
function useAge(job: JobView): number {
  const at = useMemo(() => Date.now(), [job]);
  const [now, setNow] = useState(at);
  useEffect(() => {
    if (job.state !== 'running') return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [job.state]);
  return Math.max(0, now - at) / 1000;
}

/** The bytes, of the total when known, else of about the previous backup's size while under it. */
function bytesOf(job: JobView): string | null {
  if (job.bytesDone === 0 && job.bytesTotal === null) return null;
  const done = formatBytes(job.bytesDone);
  if (job.bytesTotal !== null) return `${done} of ${formatBytes(job.bytesTotal)}`;
  const about = job.bytesExpected ?? null;
  return about !== null && job.bytesDone < about ? `${done} of about ${formatBytes(about)}` : done;
}

/** Percent, bytes (of the total when known), speed and time left — the last two only while fresh. */
function detailsOf(job: JobView, age: number): string[] {
  const fresh = age < 3;
  const eta = job.etaSeconds === null || !fresh ? null : job.etaSeconds - age;
  return [
    job.percent === null ? null : `${Math.round(job.percent)}%`,
    bytesOf(job),
    job.filesDone > 0 ? `${job.filesDone.toLocaleString()} ${job.filesDone === 1 ? 'file' : 'files'}` : null,
    fresh ? formatSpeed(job.bytesPerSecond) : null,
    eta !== null && eta >= 1 ? formatEta(eta) : null,
  ].filter((s): s is string => s !== null);
}

/** Where focus goes: Cancel while the job runs, the result once it ends (never the page's body). */
function useJobFocus(job: JobView) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  const resultRef = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    const active = document.activeElement;
    const lost = active === null || active === document.body || (active as HTMLButtonElement).disabled === true;
    const inJob = Boolean(active?.closest('[data-testid="job-status"]'));
    if (!lost && !inJob) return;
    if (job.state === 'running') cancelRef.current?.focus();
    else resultRef.current?.focus();
  }, [job.id, job.state]);
  return { cancelRef, resultRef };
}

/** How the job ended, announced (a status, focusable), with the error of a failure and any warnings. */
function JobResult({ job, resultRef }: { job: JobView; resultRef: Ref<HTMLParagraphElement> }) {
  return (
    <div class="activity" data-testid="job-status" data-state={job.state} data-kind={job.kind}>
      <p
        class={job.state === 'done' ? 'status ok' : 'status'}
        role="status"
        tabIndex={-1}
        ref={resultRef}
        data-testid="job-result"
      >
        {doneText(job)}
      </p>
      {job.error && job.state !== 'cancelled' ? <ErrorBox error={job.error} testid="job-error" /> : null}
      {job.warnings.map((w) => (
        <p class="warning" key={w}>
          {w}
        </p>
      ))}
    </div>
  );
}

export function JobActivity({
  job,
  onCancel,
  cancelling,
}: {
  job: JobView;
  onCancel: () => void;
  cancelling: boolean;
}) {
  const age = useAge(job);
  const focus = useJobFocus(job);
  if (job.state !== 'running') return <JobResult job={job} resultRef={focus.resultRef} />;
  // The iPhone said nothing for a while mid-transfer (it moves files into place, or was unplugged).
  const stalled = age >= 3 && (job.phase === 'backing-up' || job.phase === 'restoring');
  return (
    <div class="activity" data-testid="job-status" data-state={job.state} data-kind={job.kind}>
      <p class="status">
        {PHASES[job.phase] ?? (job.kind === 'restore' ? 'Restoring…' : 'Backing up…')}
        {stalled ? ' Waiting for the iPhone…' : ''}
      </p>
      {job.waitingForPasscode ? (
        <p class="notice" role="status" data-testid="passcode-prompt">
          Enter your passcode on your iPhone to start the {job.kind === 'restore' ? 'restore' : 'backup'}.
        </p>
      ) : null}
      <div class="progress-row">
        <ProgressBar
          percent={job.percent}
          label={job.kind === 'restore' ? 'Restore progress' : 'Backup progress'}
          testid="job-progress"
        />
        <button type="button" onClick={onCancel} disabled={cancelling} ref={focus.cancelRef} data-testid="cancel-job">
          Cancel
        </button>
      </div>
      <p class="details" data-testid="job-details">
        {detailsOf(job, age).join(' · ')}
      </p>
      {job.warnings.map((w) => (
        <p class="warning" key={w}>
          {w}
        </p>
      ))}
    </div>
  );
}
