/** The list of connected devices on the left, as Finder shows them under Locations. */
import type { DeviceView, ErrorView, TrustState } from '../api.js';

const TRUST_TEXT: Record<TrustState, string> = {
  trusted: '',
  pending: 'Waiting for Trust',
  locked: 'Locked',
  denied: 'Not trusted',
  untrusted: 'Not trusted yet',
};

export function deviceTitle(d: DeviceView): string {
  return d.name ?? d.model ?? 'iPhone';
}

export interface SidebarProps {
  devices: DeviceView[];
  selected: string | null;
  /** The shown phone when it is no longer connected (listed greyed until the user moves on). */
  disconnected?: string | null;
  problem: ErrorView | null;
  onSelect: (udid: string) => void;
  onManage: () => void;
}

export function Sidebar({ devices, selected, disconnected = null, problem, onSelect, onManage }: SidebarProps) {
  return (
    <nav class="sidebar" aria-label="Devices">
      <h2 class="sidebar-heading">Locations</h2>
      <ul class="device-list" data-testid="device-list">
        {devices.map((d) => {
          const running = d.job?.state === 'running' && (d.job.kind === 'backup' || d.job.kind === 'restore');
          return (
            <li key={d.udid}>
              <button
                type="button"
                class={d.udid === selected ? 'device-item selected' : 'device-item'}
                aria-current={d.udid === selected ? 'page' : undefined}
                data-testid="device-item"
                data-udid={d.udid}
                data-trust={d.trust}
                onClick={() => onSelect(d.udid)}
              >
                <span class="phone-icon" aria-hidden="true" />
                <span class="device-item-text">
                  <span class="device-item-name">{deviceTitle(d)}</span>
                  {d.udid === disconnected ? (
                    <span class="device-item-state" data-testid="device-item-disconnected">
                      Not connected
                    </span>
                  ) : d.trust !== 'trusted' ? (
                    <span class="device-item-state">{TRUST_TEXT[d.trust]}</span>
                  ) : null}
                  {running ? (
                    <span class="device-item-state">{d.job?.kind === 'restore' ? 'Restoring…' : 'Backing up…'}</span>
                  ) : null}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {devices.length === 0 && !problem ? (
        <p class="sidebar-empty" data-testid="no-device-hint">
          No iPhone connected
        </p>
      ) : null}
      {problem ? (
        <p class="sidebar-problem" role="status" data-testid="devices-problem" title={problem.message}>
          Cannot look for iPhones right now (details on the right).
        </p>
      ) : null}
      <div class="sidebar-foot">
        <button type="button" class="link" onClick={onManage} data-testid="sidebar-manage-backups">
          Manage Backups…
        </button>
      </div>
    </nav>
  );
}
