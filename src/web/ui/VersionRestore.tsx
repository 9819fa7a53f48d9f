/**
 * Restore… of a version: the restore dialog with that version as its source, onto the version's
 * own iPhone when it is connected and trusted, else onto the connected iPhone the owner picks.
 */
import { useEffect, useState } from 'preact/hooks';
import type { BackupView, DeviceView, DevicesResponse, ErrorView, JobView, VersionView } from '../api.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes } from './format.js';
import { versionDate } from './history-text.js';
import { api, errorView } from './http.js';
import { RestoreDialog } from './RestoreDialog.js';
import { deviceTitle } from './Sidebar.js';

export interface VersionRestoreProps {
  row: BackupView;
  version: VersionView;
  onClose: () => void;
  /** The restore started on the named iPhone (its page follows it). */
  onStarted: (deviceName: string) => void;
}

const sameUdid = (a: string, b: string): boolean =>
  a.replace(/-/g, '').toLowerCase() === b.replace(/-/g, '').toLowerCase();

/** The trusted iPhones, the version's own first: the one restored to unless the owner picks another. */
function targetsOf(devices: DeviceView[], udid: string): DeviceView[] {
  const trusted = devices.filter((d) => d.trust === 'trusted');
  return [...trusted.filter((d) => sameUdid(d.udid, udid)), ...trusted.filter((d) => !sameUdid(d.udid, udid))];
}

interface PickProps {
  devices: DeviceView[] | null;
  error: ErrorView | null;
  onPick: (udid: string) => void;
  onClose: () => void;
}

/** No iPhone to restore to (yet), or several and none is the version's own: which one? */
function PickTarget({ devices, error, onPick, onClose }: PickProps) {
  const trusted = devices ?? [];
  return (
    <Dialog title="Restore from this version" testid="restore-pick-target" onClose={onClose}>
      {error ? <ErrorBox error={error} /> : null}
      {devices === null && error === null ? <p>Looking for connected iPhones…</p> : null}
      {devices !== null && trusted.length === 0 ? (
        <p>Connect the iPhone to restore (it must trust this computer), then press Restore… again.</p>
      ) : null}
      {trusted.length > 0 ? <p>The iPhone this version comes from is not connected. Restore which iPhone?</p> : null}
      <div class="buttons left">
        {trusted.map((d) => (
          <button type="button" key={d.udid} onClick={() => onPick(d.udid)} data-testid="restore-target">
            {deviceTitle(d)}
          </button>
        ))}
      </div>
      <div class="buttons">
        <button type="button" class="primary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

export function VersionRestore({ row, version, onClose, onStarted }: VersionRestoreProps) {
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const [picked, setPicked] = useState<string | null>(null);
  useEffect(() => {
    api<DevicesResponse>('/api/devices').then(
      (r) => setDevices(targetsOf(r.devices, row.udid)),
      (e: unknown) => setError(errorView(e)),
    );
  }, []);
  const own = devices?.[0] && sameUdid(devices[0].udid, row.udid) ? devices[0] : null;
  const target = own ?? devices?.find((d) => d.udid === picked) ?? null;
  if (target === null) return <PickTarget devices={devices} error={error} onPick={setPicked} onClose={onClose} />;
  const name = deviceTitle(target);
  const date = versionDate(version);
  const label = `From the version of ${date} (${formatBytes(version.sizeBytes)}${version.encrypted ? ', encrypted' : ''}) of the backup of ${row.deviceName ?? row.udid}.`;
  return (
    <RestoreDialog
      udid={target.udid}
      deviceName={name}
      backups={null}
      onClose={onClose}
      onStarted={() => onStarted(name)}
      source={{
        label,
        encrypted: version.encrypted,
        start: async (password) =>
          (
            await api<{ job: JobView }>('/api/history/restore', {
              path: row.path,
              version: version.id,
              udid: target.udid,
              ...(password === undefined ? {} : { password }),
            })
          ).job,
      }}
    />
  );
}
