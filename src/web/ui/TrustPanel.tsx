/** What the page says while the iPhone does not trust this computer yet, and the Trust button. */
import type { DeviceView, ErrorView, JobView } from '../api.js';
import { ErrorBox } from './ErrorBox.js';

export interface TrustPanelProps {
  device: DeviceView;
  job: JobView | null;
  onTrust: () => void;
  busy: boolean;
  /** Why pressing Trust failed. */
  error: ErrorView | null;
}

export function TrustPanel({ device, job, onTrust, busy, error }: TrustPanelProps) {
  const running = job?.state === 'running';
  // A trust flow that ended (denied, timed out while locked…) can be started again.
  const offer = device.trust !== 'trusted' && device.trust !== 'pending' && !running;
  return (
    <section class="panel trust" data-testid="trust-panel" data-state={device.trust} aria-live="polite">
      {device.trust === 'pending' || (running && device.trust === 'untrusted') ? (
        <>
          <h3>Unlock your iPhone and tap Trust</h3>
          <p>
            Your iPhone asks “Trust This Computer?”. Tap <strong>Trust</strong> and enter your passcode on the iPhone;
            this page continues by itself.
          </p>
          <span class="spinner" aria-hidden="true" />
        </>
      ) : null}
      {device.trust === 'locked' ? (
        <>
          <h3>Unlock your iPhone…</h3>
          <p>Your iPhone is locked. Unlock it; it then asks “Trust This Computer?” and you tap Trust.</p>
          <span class="spinner" aria-hidden="true" />
        </>
      ) : null}
      {device.trust === 'denied' && !running ? (
        <>
          <h3>Your iPhone does not trust this computer</h3>
          <p>
            “Don't Trust” was tapped on the iPhone, so it cannot be backed up from here. To try again, press Trust
            below, then unlock your iPhone and tap Trust.
          </p>
        </>
      ) : null}
      {device.trust === 'untrusted' && !running ? (
        <>
          <h3>Trust this computer to back up your iPhone</h3>
          <p>Press Trust, then unlock your iPhone and tap Trust when it asks “Trust This Computer?”.</p>
        </>
      ) : null}
      {offer ? (
        <button type="button" class="primary" onClick={onTrust} disabled={busy} data-testid="trust-button">
          Trust
        </button>
      ) : null}
      {error ? (
        <ErrorBox error={error} testid="trust-error" />
      ) : job?.state === 'failed' && job.error ? (
        <ErrorBox error={job.error} testid="trust-error" />
      ) : null}
    </section>
  );
}
