/** The whole page: the device sidebar, the selected device, and the Manage Backups dialog. */
import { useState } from 'preact/hooks';
import type { BackupsResponse, ErrorView, JobView } from '../api.js';
import { DevicePage } from './DevicePage.js';
import { ErrorBox } from './ErrorBox.js';
import { api, errorView, seg } from './http.js';
import { ManageBackups } from './ManageBackups.js';
import { Sidebar } from './Sidebar.js';
import { latestJob, useServerState } from './store.js';

export function App() {
  const [state, dispatch] = useServerState();
  const [chosen, setChosen] = useState<string | null>(null);
  const [managing, setManaging] = useState(false);
  const [trustBusy, setTrustBusy] = useState(false);
  const [trustError, setTrustError] = useState<ErrorView | null>(null);
  const device = state.devices.find((d) => d.udid === chosen) ?? state.devices[0] ?? null;
  const onJob = (job: JobView): void => dispatch({ type: 'job', job });

  const refreshBackups = (): void => {
    api<BackupsResponse>('/api/backups')
      .then((r) => dispatch({ type: 'backups', backups: r.backups, backupDir: r.backupDir }))
      .catch(() => undefined);
  };

  const trust = async (udid: string): Promise<void> => {
    setTrustBusy(true);
    setTrustError(null);
    try {
      onJob((await api<{ job: JobView }>(`/api/devices/${seg(udid)}/trust`, {})).job);
    } catch (e) {
      setTrustError(errorView(e));
    } finally {
      setTrustBusy(false);
    }
  };

  if (state.loadError && !state.loaded) {
    return (
      <main class="standalone" data-testid="load-error">
        <h1>ibackup</h1>
        <ErrorBox error={state.loadError} />
      </main>
    );
  }

  return (
    <div class="app">
      <Sidebar
        devices={state.devices}
        selected={device?.udid ?? null}
        problem={state.problem}
        onSelect={(udid) => {
          setChosen(udid);
          setTrustError(null);
        }}
        onManage={() => setManaging(true)}
      />
      <main class="content">
        {state.connection === 'reconnecting' || state.connection === 'closed' ? (
          <p class="banner" role="status" data-testid="connection-banner">
            {state.connection === 'closed'
              ? 'Lost the connection to ibackup. Check that “ibackup ui” is still running, then reload this page.'
              : 'Reconnecting to ibackup…'}
          </p>
        ) : null}
        {device ? (
          <DevicePage
            key={device.udid}
            device={device}
            job={latestJob(state, device.udid, ['backup', 'restore'])}
            trustJob={latestJob(state, device.udid, ['trust'])}
            backups={state.backups}
            onJob={onJob}
            onTrust={() => void trust(device.udid)}
            trustBusy={trustBusy}
            trustError={trustError}
            onEncryption={(udid, encryption) => dispatch({ type: 'encryption', udid, encryption })}
            onManage={() => setManaging(true)}
          />
        ) : (
          <section class="empty" data-testid="no-device">
            <span class="phone-art faint" aria-hidden="true" />
            <h1>{state.loaded ? 'No iPhone connected' : 'Looking for your iPhone…'}</h1>
            {state.problem ? (
              <ErrorBox error={state.problem} testid="no-device-problem" />
            ) : (
              <p>
                Connect your iPhone with a USB cable. If it asks, unlock it and tap Trust. It then shows up here by
                itself.
              </p>
            )}
            <button type="button" onClick={() => setManaging(true)} data-testid="manage-backups">
              Manage Backups…
            </button>
          </section>
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
