/** One device, like Finder's General tab: who it is, its storage, trust and backups. */
import type { BackupView, DeviceView, ErrorView, JobView } from '../api.js';
import { BackupSection } from './BackupSection.js';
import { ErrorBox } from './ErrorBox.js';
import { formatBytes } from './format.js';
import { OptionsSection } from './OptionsSection.js';
import { PhotosSection } from './PhotosSection.js';
import { deviceTitle } from './Sidebar.js';
import { TrustPanel } from './TrustPanel.js';

export interface DevicePageProps {
  device: DeviceView;
  job: JobView | null;
  trustJob: JobView | null;
  backups: BackupView[] | null;
  onJob: (job: JobView) => void;
  onTrust: () => void;
  trustBusy: boolean;
  trustError: ErrorView | null;
  onEncryption: (udid: string, on: boolean) => void;
  onManage: () => void;
  /** The newest photo export job of this device. */
  photosJob?: JobView | null;
  /** The phone was unplugged (or restarts): its page stays, with its last result, until the user moves on. */
  disconnected?: boolean;
  /** Why no phone can be seen now (usbmuxd stopped), shown on a disconnected phone's page. */
  problem?: ErrorView | null;
  /** The backup folder changed: the page reads the backup list again. */
  onBackupsChanged?: () => void;
}

function Disconnected({ device, problem }: { device: DeviceView; problem: ErrorView | null }) {
  return (
    <div class="notice" role="status" data-testid="device-disconnected">
      <p>
        <strong>{deviceTitle(device)} is not connected.</strong> If it is restarting after a restore, it comes back here
        by itself once it has started up; otherwise connect it again.
      </p>
      {problem ? <ErrorBox error={problem} testid="disconnected-problem" /> : null}
    </div>
  );
}

function Capacity({ device }: { device: DeviceView }) {
  const { capacityBytes: cap, usedBytes: used } = device;
  if (cap === null || used === null || cap <= 0) {
    return <p class="muted small">Storage is shown once this computer is trusted.</p>;
  }
  const percent = Math.max(0, Math.min(100, (used / cap) * 100));
  return (
    <div class="capacity" data-testid="capacity">
      <div
        class="meter capacity-bar"
        role="meter"
        aria-label="Storage used"
        aria-valuemin={0}
        aria-valuemax={cap}
        aria-valuenow={used}
        aria-valuetext={`${formatBytes(used)} of ${formatBytes(cap)} used`}
        data-testid="capacity-bar"
      >
        <div class="meter-fill" style={{ width: `${percent}%` }} />
      </div>
      <p class="muted small">
        {formatBytes(used)} used of {formatBytes(cap)} · {formatBytes(Math.max(0, cap - used))} available
      </p>
    </div>
  );
}

/** The device's last problem is the error of a job the page already shows. */
function shownElsewhere(problem: ErrorView, jobs: (JobView | null)[]): boolean {
  return jobs.some((j) => j?.error?.code === problem.code && j.error.message === problem.message);
}

/** The phone, its name, model, iOS, connection and storage. */
function DeviceHeader({ device }: { device: DeviceView }) {
  const facts = [
    device.model,
    device.iosVersion ? `iOS ${device.iosVersion}` : null,
    device.connection === 'Network' ? 'Wi-Fi' : null,
  ].filter((s) => s !== null);
  return (
    <header class="device-header">
      <span class="phone-art" aria-hidden="true" />
      <div class="device-header-text">
        <h1 id="device-name" data-testid="device-name">
          {deviceTitle(device)}
        </h1>
        <p class="muted" data-testid="device-facts">
          {facts.join(' · ') || 'Waiting for the iPhone to answer…'}
        </p>
        <Capacity device={device} />
      </div>
    </header>
  );
}

export function DevicePage(props: DevicePageProps) {
  const { device } = props;
  return (
    <section
      class="device-page"
      data-testid="device-page"
      data-udid={device.udid}
      data-trust={device.trust}
      aria-labelledby="device-name"
    >
      <DeviceHeader device={device} />
      {props.disconnected ? <Disconnected device={device} problem={props.problem ?? null} /> : null}
      <div class="tabbar" role="presentation">
        <span class="tab current">General</span>
      </div>
      {device.problem && !shownElsewhere(device.problem, [props.job, props.trustJob]) ? (
        <ErrorBox error={device.problem} testid="device-problem" />
      ) : null}
      {device.trust !== 'trusted' && props.disconnected !== true ? (
        <TrustPanel
          device={device}
          job={props.trustJob}
          onTrust={props.onTrust}
          busy={props.trustBusy}
          error={props.trustError}
        />
      ) : null}
      {device.serial ? (
        <dl class="facts">
          <dt>Serial number</dt>
          <dd data-testid="device-serial">{device.serial}</dd>
          <dt>Software</dt>
          <dd>{device.iosVersion ? `iOS ${device.iosVersion}` : '—'}</dd>
        </dl>
      ) : null}
      <BackupSection
        device={device}
        job={props.job}
        backups={props.backups}
        onJob={props.onJob}
        onEncryption={props.onEncryption}
        onManage={props.onManage}
        {...(props.onBackupsChanged ? { onBackupsChanged: props.onBackupsChanged } : {})}
      />
      {device.trust === 'trusted' && props.disconnected !== true ? (
        <OptionsSection device={device} job={props.job} />
      ) : null}
      {props.disconnected !== true ? (
        <PhotosSection
          device={device}
          job={props.photosJob ?? null}
          backupJob={props.job}
          backups={props.backups}
          onJob={props.onJob}
        />
      ) : null}
    </section>
  );
}
