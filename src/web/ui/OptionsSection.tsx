/**
 * The Options of Finder's General tab: "Back up automatically when this iPhone is connected" and
 * "Show this iPhone when on Wi-Fi", when the next automatic backup happens, and — when several
 * phones wait for `ibackup watch` — which ones are being backed up and which are waiting.
 */
import { useEffect, useState } from 'preact/hooks';
import type { DeviceView, ErrorView, JobView } from '../api.js';
import type { OptionsView, WatchQueueView } from '../api-options.js';
import { ErrorBox } from './ErrorBox.js';
import { api, errorView, seg } from './http.js';

export interface OptionsSectionProps {
  device: DeviceView;
  /** The newest backup job of the device (the next backup moves when one ends). */
  job: JobView | null;
}

/** "Next backup: when connected after 9:00 PM" (a date too when it is not today). */
export function nextBackupText(o: OptionsView, now: Date = new Date()): string {
  if (!o.auto) return 'Automatic backup is off for this iPhone.';
  if (o.nextBackupAfter === null) return 'Next backup: when connected.';
  const at = new Date(o.nextBackupAfter);
  const sameDay = at.toDateString() === now.toDateString();
  const time = at.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
  const when = sameDay ? time : `${at.toLocaleDateString(undefined, { weekday: 'long' })} ${time}`;
  return `Next backup: when connected after ${when}.`;
}

function useOptions(udid: string, refreshKey: string) {
  const [options, setOptions] = useState<OptionsView | null>(null);
  const [queue, setQueue] = useState<WatchQueueView | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  useEffect(() => {
    let live = true;
    const load = (): void => {
      api<OptionsView>(`/api/devices/${seg(udid)}/options`)
        .then((o) => live && (setOptions(o), setError(null)))
        .catch((e) => live && setError(errorView(e)));
      api<WatchQueueView>('/api/watch')
        .then((q) => live && setQueue(q))
        .catch(() => undefined);
    };
    load();
    const timer = setInterval(load, 3000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [udid, refreshKey]);
  return { options, setOptions, queue, error, setError };
}

function Queue({ queue, names }: { queue: WatchQueueView; names: (udid: string) => string }) {
  if (queue.running.length + queue.queued.length < 2) return null;
  return (
    <div class="watch-queue" data-testid="watch-queue">
      <p class="small">
        Backing up now: <span data-testid="queue-running">{queue.running.map(names).join(', ') || 'none'}</span>
      </p>
      <p class="small">Waiting:</p>
      <ol class="small" data-testid="queue-waiting" aria-label="Waiting to back up">
        {queue.queued.map((u) => (
          <li key={u}>{names(u)}</li>
        ))}
      </ol>
    </div>
  );
}

export function OptionsSection({ device, job }: OptionsSectionProps) {
  const { options, setOptions, queue, error, setError } = useOptions(
    device.udid,
    `${job?.id ?? ''}:${job?.state ?? ''}`,
  );
  const [busy, setBusy] = useState(false);
  const change = (field: 'auto' | 'wifi', value: boolean): void => {
    setBusy(true);
    api<OptionsView>(`/api/devices/${seg(device.udid)}/options`, { [field]: value })
      .then((o) => (setOptions(o), setError(null)))
      .catch((e) => setError(errorView(e)))
      .finally(() => setBusy(false));
  };
  const names = (udid: string): string => (udid === device.udid && device.name ? device.name : udid);
  return (
    <section class="panel options-section" aria-labelledby="options-heading" data-testid="options-section">
      <h3 id="options-heading">Options</h3>
      <div>
        <label class="check">
          <input
            type="checkbox"
            data-testid="auto-checkbox"
            checked={options?.auto ?? false}
            disabled={options === null || busy}
            onChange={(e) => change('auto', (e.target as HTMLInputElement).checked)}
          />
          Back up automatically when this iPhone is connected
        </label>
      </div>
      <div>
        <label class="check">
          <input
            type="checkbox"
            data-testid="wifi-checkbox"
            checked={options?.wifi ?? false}
            disabled={options === null || options.wifi === null || busy}
            onChange={(e) => change('wifi', (e.target as HTMLInputElement).checked)}
          />
          Show this iPhone when on Wi-Fi
        </label>
      </div>
      {options ? (
        <p class="muted small" data-testid="next-backup">
          {nextBackupText(options)}
          {options.auto && !options.watching
            ? ' Automatic backups need "ibackup watch" running (or "ibackup service install" to start it at login).'
            : ''}
        </p>
      ) : null}
      {queue ? <Queue queue={queue} names={names} /> : null}
      {error ? <ErrorBox error={error} testid="options-error" /> : null}
    </section>
  );
}
