/** The progress of a backup or restore: bar, percent, bytes, speed, time left, Cancel. */
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

function doneText(job: JobView): string {
  const what = job.kind === 'restore' ? 'Restore' : 'Backup';
  if (job.state === 'done')
    return job.kind === 'restore'
      ? 'Restore complete. Your iPhone restarts and then finishes restoring.'
      : 'Backup complete.';
  if (job.state === 'cancelled') return `${what} cancelled.`;
  return `${what} failed.`;
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
  if (job.state !== 'running') {
    return (
      <div class="activity" data-testid="job-status" data-state={job.state} data-kind={job.kind}>
        <p class={job.state === 'done' ? 'status ok' : 'status'}>{doneText(job)}</p>
        {job.error ? <ErrorBox error={job.error} testid="job-error" /> : null}
        {job.warnings.map((w) => (
          <p class="warning" key={w}>
            {w}
          </p>
        ))}
      </div>
    );
  }
  const details = [
    job.percent === null ? null : `${Math.round(job.percent)}%`,
    job.bytesDone > 0 || job.bytesTotal !== null
      ? `${formatBytes(job.bytesDone)}${job.bytesTotal === null ? '' : ` of ${formatBytes(job.bytesTotal)}`}`
      : null,
    formatSpeed(job.bytesPerSecond),
    formatEta(job.etaSeconds),
  ].filter((s): s is string => s !== null);
  return (
    <div class="activity" data-testid="job-status" data-state={job.state} data-kind={job.kind}>
      <p class="status">{PHASES[job.phase] ?? (job.kind === 'restore' ? 'Restoring…' : 'Backing up…')}</p>
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
        <button type="button" onClick={onCancel} disabled={cancelling} data-testid="cancel-job">
          Cancel
        </button>
      </div>
      <p class="details" data-testid="job-details">
        {details.join(' · ')}
      </p>
      {job.warnings.map((w) => (
        <p class="warning" key={w}>
          {w}
        </p>
      ))}
    </div>
  );
}
