/**
 * What the page says while the iPhone does not trust this computer yet, and the Trust button: one
 * remedy per state (the panel's own words, not the error's as well), a spinner only while the
 * page is really waiting for the iPhone, and Trust offered again once it no longer is (the server
 * still asks the phone quietly: unlocked and trusted later, the page moves on by itself).
 */
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

/** Errors the panel's text already explains in its own words. */
const EXPLAINED = new Set(['TRUST_DENIED', 'TRUST_PENDING', 'DEVICE_LOCKED', 'PASSCODE_REQUIRED', 'CANCELLED']);

function Waiting({ trust }: { trust: DeviceView['trust'] }) {
  return trust === 'locked' ? (
    <>
      <h2>Unlock your iPhone…</h2>
      <p>Your iPhone is locked. Unlock it; it then asks “Trust This Computer?” and you tap Trust.</p>
      <span class="spinner" aria-hidden="true" />
    </>
  ) : (
    <>
      <h2>Unlock your iPhone and tap Trust</h2>
      <p>
        Your iPhone asks “Trust This Computer?”. Tap <strong>Trust</strong> and enter your passcode on the iPhone; this
        page continues by itself.
      </p>
      <span class="spinner" aria-hidden="true" />
    </>
  );
}

function Idle({ trust }: { trust: DeviceView['trust'] }) {
  if (trust === 'denied')
    return (
      <>
        <h2>Your iPhone does not trust this computer</h2>
        <p data-testid="trust-remedy">
          “Don't Trust” was tapped on the iPhone. To try again: unlock your iPhone, press Trust below, then tap Trust on
          the iPhone.
        </p>
      </>
    );
  if (trust === 'locked')
    return (
      <>
        <h2>Your iPhone is locked</h2>
        <p data-testid="trust-remedy">
          Unlock your iPhone and tap Trust when it asks “Trust This Computer?”; this page still notices and continues by
          itself. Or press Trust below to wait for it here.
        </p>
      </>
    );
  return (
    <>
      <h2>Trust this computer to back up your iPhone</h2>
      <p data-testid="trust-remedy">
        Press Trust, then unlock your iPhone and tap Trust when it asks “Trust This Computer?”.
      </p>
    </>
  );
}

export function TrustPanel({ device, job, onTrust, busy, error }: TrustPanelProps) {
  const running = job?.state === 'running';
  const waiting = running || device.trust === 'pending';
  const shown = error ?? (job?.state === 'failed' ? job.error : null);
  return (
    <section
      class="panel trust"
      data-testid="trust-panel"
      data-state={device.trust}
      data-waiting={waiting ? 'yes' : 'no'}
      aria-live="polite"
    >
      {waiting ? <Waiting trust={device.trust} /> : <Idle trust={device.trust} />}
      {waiting ? null : (
        <button type="button" class="primary" onClick={onTrust} disabled={busy} data-testid="trust-button">
          Trust
        </button>
      )}
      {shown && !EXPLAINED.has(shown.code) ? <ErrorBox error={shown} testid="trust-error" /> : null}
    </section>
  );
}
