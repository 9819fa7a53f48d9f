/**
 * The Photos part of the device page: what the phone's library holds, whether iCloud Photos is
 * on and what that leaves out of computer backups (with what to do), what the last backup holds,
 * Export… (a folder, then progress and a summary) and the grid of the last backup's photos.
 */
import { useEffect, useState } from 'preact/hooks';
import type { BackupView, DeviceView, ErrorView, JobView, PhotoExportRequest, PhotosStatusView } from '../api.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes, formatDate, formatEta } from './format.js';
import { api, errorView, seg } from './http.js';
import { PhotoGrid } from './PhotoGrid.js';
import { ProgressBar } from './Progress.js';

export interface PhotosSectionProps {
  device: DeviceView;
  /** The newest photo export job of this device. */
  job: JobView | null;
  /** The newest backup or restore job (the counts are read again when it ends). */
  backupJob: JobView | null;
  backups: BackupView[] | null;
  onJob: (job: JobView) => void;
}

const plural = (n: number, one: string, many: string): string => `${n.toLocaleString()} ${n === 1 ? one : many}`;

function useStatus(udid: string, ready: boolean, refreshKey: string) {
  const [status, setStatus] = useState<PhotosStatusView | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  useEffect(() => {
    if (!ready) return;
    let live = true;
    api<PhotosStatusView>(`/api/devices/${seg(udid)}/photos`)
      .then((s) => {
        if (!live) return;
        setStatus(s);
        setError(null);
      })
      .catch((e) => live && setError(errorView(e)));
    return () => {
      live = false;
    };
  }, [udid, ready, refreshKey]);
  return { status, error };
}

function Counts({ s }: { s: PhotosStatusView }) {
  const b = s.inLastBackup;
  return (
    <dl class="facts" data-testid="photos-counts">
      <dt>Library</dt>
      <dd data-testid="photos-library">
        {plural(s.library.photos, 'photo', 'photos')}, {plural(s.library.videos, 'video', 'videos')} ({s.library.hidden}{' '}
        hidden, {s.library.recentlyDeleted} in Recently Deleted)
      </dd>
      <dt>iCloud Photos</dt>
      <dd data-testid="photos-icloud">{s.icloudPhotos}</dd>
      <dt>Only in iCloud</dt>
      <dd data-testid="photos-cloud-only">{plural(s.originalsNotOnDevice, 'original', 'originals')}</dd>
      <dt>Last backup</dt>
      <dd data-testid="photos-in-backup">
        {b === null
          ? 'no record yet'
          : `${plural(b.inBackup.photos, 'photo', 'photos')}, ${plural(b.inBackup.videos, 'video', 'videos')} (${formatDate(b.date) ?? b.date}); ${plural(b.notInBackup, 'item', 'items')} not in it`}
      </dd>
    </dl>
  );
}

function ExportForm({ udid, busy, onJob }: { udid: string; busy: boolean; onJob: (job: JobView) => void }) {
  const [out, setOut] = useState('');
  const [edited, setEdited] = useState(false);
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<ErrorView | null>(null);
  const start = async (): Promise<void> => {
    setStarting(true);
    setError(null);
    try {
      const body: PhotoExportRequest = { out: out.trim(), ...(edited ? { edited: true } : {}) };
      onJob((await api<{ job: JobView }>(`/api/devices/${seg(udid)}/photos/export`, body)).job);
    } catch (e) {
      setError(errorView(e));
    } finally {
      setStarting(false);
    }
  };
  return (
    <form
      class="photos-export"
      data-testid="photos-export-form"
      onSubmit={(e) => {
        e.preventDefault();
        void start();
      }}
    >
      <label>
        Folder
        <input
          type="text"
          value={out}
          placeholder="/home/you/Pictures/iPhone"
          onInput={(e) => setOut((e.target as HTMLInputElement).value)}
          data-testid="photos-export-folder"
        />
      </label>
      <label class="check">
        <input type="checkbox" checked={edited} onChange={(e) => setEdited((e.target as HTMLInputElement).checked)} />
        Also the edited versions
      </label>
      <button type="submit" disabled={busy || starting || out.trim() === ''} data-testid="photos-export-start">
        Copy Photos
      </button>
      {error ? <ErrorBox error={error} testid="photos-export-error" /> : null}
    </form>
  );
}

function ExportActivity({ job }: { job: JobView }) {
  if (job.state === 'running')
    return (
      <div class="activity" data-testid="photos-export-status" data-state="running">
        <ProgressBar percent={job.percent} label="Photo copy progress" testid="photos-export-progress" />
        <p class="details" data-testid="photos-export-details">
          {[
            `${job.filesDone} files`,
            `${formatBytes(job.bytesDone)}${job.bytesTotal === null ? '' : ` of ${formatBytes(job.bytesTotal)}`}`,
            formatEta(job.etaSeconds),
          ]
            .filter((t) => t !== null)
            .join(' · ')}
        </p>
      </div>
    );
  const r = job.result?.exported;
  return (
    <div class="activity" data-testid="photos-export-status" data-state={job.state}>
      {r ? (
        <p class="status ok" data-testid="photos-export-summary">
          Copied {plural(r.copied, 'file', 'files')} ({formatBytes(r.bytes)}) into {r.out}; {r.skipped} already there;{' '}
          {r.notOnDevice} left in iCloud.
        </p>
      ) : (
        <p class="status">Photo copy {job.state === 'cancelled' ? 'cancelled' : 'failed'}.</p>
      )}
      {job.error ? <ErrorBox error={job.error} testid="photos-export-job-error" /> : null}
    </div>
  );
}

export function PhotosSection(props: PhotosSectionProps) {
  const { device, job } = props;
  const trusted = device.trust === 'trusted';
  const refreshKey = `${props.backupJob?.id ?? ''}:${props.backupJob?.state ?? ''}:${job?.state ?? ''}`;
  const idle = props.backupJob?.state !== 'running' && job?.state !== 'running';
  const { status, error } = useStatus(device.udid, trusted && idle, refreshKey);
  const [exporting, setExporting] = useState(false);
  const [showGrid, setShowGrid] = useState(false);
  if (!trusted) return null;
  const bare = (u: string): string => u.replace(/-/g, '').toLowerCase();
  const last = (props.backups ?? [])
    .filter((b) => bare(b.udid) === bare(device.udid) && b.complete)
    .sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''))[0];
  return (
    <section class="photos" aria-labelledby="photos-title" data-testid="photos-section">
      <h2 id="photos-title">Photos</h2>
      {error ? <ErrorBox error={error} testid="photos-error" /> : null}
      {status ? <Counts s={status} /> : error ? null : <p class="muted small">Reading the photo library…</p>}
      {status?.advice ? (
        <p class="warning" role="alert" data-testid="photos-icloud-warning">
          {status.advice}
        </p>
      ) : null}
      <div class="actions">
        <button type="button" onClick={() => setExporting(!exporting)} data-testid="photos-export">
          Export…
        </button>
        {last ? (
          <button type="button" onClick={() => setShowGrid(!showGrid)} data-testid="photos-show-grid">
            {showGrid ? 'Hide the photos of the last backup' : 'Show the photos of the last backup'}
          </button>
        ) : null}
      </div>
      {exporting ? <ExportForm udid={device.udid} busy={job?.state === 'running'} onJob={props.onJob} /> : null}
      {job ? <ExportActivity job={job} /> : null}
      {showGrid && last ? <PhotoGrid key={last.path} path={last.path} encrypted={last.encrypted} /> : null}
    </section>
  );
}
