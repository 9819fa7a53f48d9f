/** The whole page: the device sidebar, the selected device, and the Manage Backups dialog. */
import { useState } from 'preact/hooks';
import type { BackupsResponse, ErrorView, JobView } from '../api.js';
import { DevicePage } from './DevicePage.js';
import { ErrorBox } from './ErrorBox.js';
import { api, errorView, seg } from './http.js';
import { ManageBackups } from './ManageBackups.js';
import { Sidebar } from './Sidebar.js';
import { latestJob, useServerState, type Connection } from './store.js';

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

export function App() {
  const [state, dispatch] = useServerState();
  const [chosen, setChosen] = useState<string | null>(null);
  const [managing, setManaging] = useState(false);
  const device = state.devices.find((d) => d.udid === chosen) ?? state.devices[0] ?? null;
  const onJob = (job: JobView): void => dispatch({ type: 'job', job });
  const trust = useTrust(onJob);

  const refreshBackups = (): void => {
    api<BackupsResponse>('/api/backups')
      .then((r) => dispatch({ type: 'backups', backups: r.backups, backupDir: r.backupDir }))
      .catch(() => undefined);
  };

  if (state.loadError && !state.loaded) return <LoadError error={state.loadError} />;

  return (
    <div class="app">
      <Sidebar
        devices={state.devices}
        selected={device?.udid ?? null}
        problem={state.problem}
        onSelect={(udid) => {
          setChosen(udid);
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
