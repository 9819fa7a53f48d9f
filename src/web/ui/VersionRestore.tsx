/**
 * Restore… of a version: the restore dialog with that version as its source, onto the version's
 * own iPhone when it is connected and trusted, else onto the one iPhone that is.
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

/** The trusted iPhone to restore to: the version's own, else the only one connected. */
function targetOf(devices: DeviceView[], udid: string): DeviceView | null {
  const trusted = devices.filter((d) => d.trust === 'trusted');
  return trusted.find((d) => sameUdid(d.udid, udid)) ?? (trusted.length === 1 ? (trusted[0] ?? null) : null);
}

export function VersionRestore({ row, version, onClose, onStarted }: VersionRestoreProps) {
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  useEffect(() => {
    api<DevicesResponse>('/api/devices').then(
      (r) => setDevices(r.devices),
      (e: unknown) => setError(errorView(e)),
    );
  }, []);
  const target = devices === null ? null : targetOf(devices, row.udid);
  if (target === null) {
    return (
      <Dialog title="Restore from this version" testid="restore-no-target" onClose={onClose}>
        {error ? <ErrorBox error={error} /> : null}
        <p>
          {devices === null && error === null
            ? 'Looking for connected iPhones…'
            : 'Connect the iPhone to restore (it must trust this computer), then press Restore… again.'}
        </p>
        <div class="buttons">
          <button type="button" class="primary" onClick={onClose}>
            Close
          </button>
        </div>
      </Dialog>
    );
  }
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
