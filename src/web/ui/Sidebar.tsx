/** The list of connected devices on the left, as Finder shows them under Locations. */
import { useState } from 'preact/hooks';
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

interface DeviceItemProps {
  device: DeviceView;
  selected: boolean;
  disconnected: boolean;
  onSelect: () => void;
}

/** One phone in the list: its name, and its state when it is not simply ready. */
function DeviceItem({ device: d, selected, disconnected, onSelect }: DeviceItemProps) {
  const running = d.job?.state === 'running' && (d.job.kind === 'backup' || d.job.kind === 'restore');
  return (
    <li>
      <button
        type="button"
        class={selected ? 'device-item selected' : 'device-item'}
        aria-current={selected ? 'page' : undefined}
        data-testid="device-item"
        data-udid={d.udid}
        data-trust={d.trust}
        onClick={onSelect}
      >
        <span class="phone-icon" aria-hidden="true" />
        <span class="device-item-text">
          <span class="device-item-name">{deviceTitle(d)}</span>
          {disconnected ? (
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
}

export function Sidebar({ devices, selected, disconnected = null, problem, onSelect, onManage }: SidebarProps) {
  // In a narrow window the list folds into a menu (the button shows only there).
  const [open, setOpen] = useState(false);
  const current = devices.find((d) => d.udid === selected);
  return (
    <nav class={open ? 'sidebar open' : 'sidebar'} aria-label="Devices">
      <button
        type="button"
        class="sidebar-menu-button"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        data-testid="sidebar-menu"
      >
        {current ? deviceTitle(current) : 'iPhones'} ▾
      </button>
      <h2 class="sidebar-heading">Locations</h2>
      <ul class="device-list" data-testid="device-list">
        {devices.map((d) => (
          <DeviceItem
            key={d.udid}
            device={d}
            selected={d.udid === selected}
            disconnected={d.udid === disconnected}
            onSelect={() => {
              setOpen(false);
              onSelect(d.udid);
            }}
          />
        ))}
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
