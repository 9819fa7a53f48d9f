/** The whole page: the device sidebar, the selected device, and the Manage Backups dialog. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { BackupsResponse, DeviceView, ErrorView, JobView } from '../api.js';
import { DevicePage } from './DevicePage.js';
import { ErrorBox } from './ErrorBox.js';
import { api, errorView, seg } from './http.js';
import { ManageBackups } from './ManageBackups.js';
import { Sidebar } from './Sidebar.js';
import { latestJob, useServerState, type Action, type Connection } from './store.js';

/** "Trust This Computer" started from the page: busy while the request runs, its error if any. */
function useTrust(onJob: (job: JobView) => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorView | null>(null);
  const trust = async (udid: string): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      onJob((await api<{ job: JobView }>(`/api/devices/${seg(udid)}/trust`, {})).job);
    } catch (e) {
      setError(errorView(e));
    } finally {
      setBusy(false);
    }
  };
  return { trust, busy, error, setError };
}

function LoadError({ error }: { error: ErrorView }) {
  return (
    <main class="standalone" data-testid="load-error">
      <h1>ibackup</h1>
      <ErrorBox error={error} />
    </main>
  );
}

function ConnectionBanner({ connection }: { connection: Connection }) {
  if (connection !== 'reconnecting' && connection !== 'closed') return null;
  return (
    <p class="banner" role="status" data-testid="connection-banner">
      {connection === 'closed'
        ? 'Lost the connection to ibackup. Check that “ibackup ui” is still running, then reload this page.'
        : 'Reconnecting to ibackup…'}
    </p>
  );
}

function NoDevice({ loaded, problem, onManage }: { loaded: boolean; problem: ErrorView | null; onManage: () => void }) {
  return (
    <section class="empty" data-testid="no-device">
      <span class="phone-art faint" aria-hidden="true" />
      <h1>{loaded ? 'No iPhone connected' : 'Looking for your iPhone…'}</h1>
      {problem ? (
        <ErrorBox error={problem} testid="no-device-problem" />
      ) : (
        <p>
          Connect your iPhone with a USB cable. If it asks, unlock it and tap Trust. It then shows up here by itself.
        </p>
      )}
      <button type="button" onClick={onManage} data-testid="manage-backups">
        Manage Backups…
      </button>
    </section>
  );
}

/**
 * The phone the page shows: the one the user chose (or the first one shown, which then counts as
 * chosen). Unplugged, or restarting after a restore, it stays on the page — disconnected, with its
 * last job's result — until the user picks another: never another phone's page in its place.
 */
function useShownDevice(devices: DeviceView[]) {
  const [chosen, setChosen] = useState<string | null>(null);
  const seen = useRef<Record<string, DeviceView>>({});
  for (const d of devices) seen.current[d.udid] = d;
  const live = devices.find((d) => d.udid === chosen);
  const kept = chosen !== null && live === undefined ? seen.current[chosen] : undefined;
  const gone = kept === undefined ? null : disconnectedView(kept);
  const device = live ?? gone ?? devices[0] ?? null;
  useEffect(() => {
    if (chosen === null && device !== null) setChosen(device.udid);
  }, [chosen, device?.udid]);
  const listed = gone === null ? devices : [...devices, gone];
  return { device, gone, listed, choose: setChosen };
}

function disconnectedView(d: DeviceView): DeviceView {
  return {
    ...d,
    job: null,
    problem: null,
    backupBlocked: 'This iPhone is not connected. Connect it again to back it up or restore it.',
  };
}

/** Reads the backup list (and the folder it is in) again. */
function reloadBackups(dispatch: (a: Action) => void): void {
  api<BackupsResponse>('/api/backups')
    .then((r) => dispatch({ type: 'backups', backups: r.backups, backupDir: r.backupDir }))
    .catch(() => undefined);
}

export function App() {
  const [state, dispatch] = useServerState();
  const [managing, setManaging] = useState(false);
  const shown = useShownDevice(state.devices);
  const device = shown.device;
  const onJob = (job: JobView): void => dispatch({ type: 'job', job });
  const trust = useTrust(onJob);

  const refreshBackups = (): void => reloadBackups(dispatch);

  if (state.loadError && !state.loaded) return <LoadError error={state.loadError} />;

  return (
    <div class="app">
      <Sidebar
        devices={shown.listed}
        selected={device?.udid ?? null}
        disconnected={shown.gone?.udid ?? null}
        problem={state.problem}
        onSelect={(udid) => {
          shown.choose(udid);
          trust.setError(null);
        }}
        onManage={() => setManaging(true)}
      />
      <main class="content">
        <ConnectionBanner connection={state.connection} />
        {device ? (
          <DevicePage
            key={device.udid}
            device={device}
            disconnected={shown.gone !== null}
            problem={shown.gone === null ? null : state.problem}
            job={latestJob(state, device.udid, ['backup', 'restore'])}
            trustJob={latestJob(state, device.udid, ['trust'])}
            photosJob={latestJob(state, device.udid, ['photos'])}
            backups={state.backups}
            onJob={onJob}
            onTrust={() => void trust.trust(device.udid)}
            trustBusy={trust.busy}
            trustError={trust.error}
            onEncryption={(udid, encryption) => dispatch({ type: 'encryption', udid, encryption })}
            onManage={() => setManaging(true)}
            onBackupsChanged={refreshBackups}
          />
        ) : (
          <NoDevice loaded={state.loaded} problem={state.problem} onManage={() => setManaging(true)} />
        )}
      </main>
      {managing ? (
        <ManageBackups
          backups={state.backups}
          backupDir={state.backupDir}
          onClose={() => setManaging(false)}
          onChanged={refreshBackups}
        />
      ) : null}
    </div>
  );
}
