/**
 * One connected device as the page shows it: what it says before trust, where trust stands
 * (following a running "Trust This Computer" job), the values read after trust, and why Back Up
 * Now is disabled right now.
 */
import type { DeviceInfo } from '../app/info.js';
import type { DeviceSummary } from '../app/describe.js';
import { isIbackupError } from '../errors.js';
import type { DeviceView, ErrorView, TrustState } from './api.js';
import type { Job } from './jobs.js';
import type { WatchedTrust } from './trust-watch.js';

/** What the monitor knows about one device (by UDID; USB preferred over the network). */
export interface DeviceEntry {
  udid: string;
  summary: DeviceSummary;
  /** When it was (last) attached, in ms. */
  attachedMs: number;
  /** Read in a trusted session; null before trust or while it cannot be read. */
  info: DeviceInfo | null;
  /** Why `info` could not be read (the last attempt), or null. */
  detailsProblem: unknown;
  lastBackup: string | null;
  /** What the quiet trust watch last saw, after a trust job stopped waiting (null when none runs). */
  watchedTrust?: WatchedTrust | null;
}

export const BLOCKED = {
  trust: 'Unlock your iPhone and tap Trust on it first.',
  locked: 'The iPhone is locked: unlock it.',
  denied: 'The iPhone does not trust this computer: press Trust and tap Trust on the iPhone.',
  backup: 'A backup is running.',
  restore: 'A restore is running.',
  encryption: 'The backup password is being changed.',
  export: 'A readable export of its backup is being written.',
  photos: 'Photos are being copied.',
} as const;

const codeOf = (err: unknown): string | null => (isIbackupError(err) ? err.code : null);

/** The trust state, from a running trust job, the pairing, or how the last trust job ended. */
export function trustState(e: DeviceEntry, running: Job | undefined, lastTrust: Job | undefined): TrustState {
  if (running?.kind === 'trust') {
    if (running.phase === 'locked') return 'locked';
    return running.phase === 'trusted' ? 'trusted' : 'pending';
  }
  if (e.summary.paired) return 'trusted';
  const watched = e.watchedTrust ?? null;
  if (watched !== null && watched !== 'trusted') return watched;
  if (lastTrust && !lastTrust.running && (lastTrust.finishedMs ?? 0) >= e.attachedMs && lastTrust.state === 'failed') {
    const code = codeOf(lastTrust.cause);
    if (code === 'TRUST_DENIED') return 'denied';
    if (code === 'DEVICE_LOCKED') return 'locked';
  }
  return 'untrusted';
}

function blocked(trust: TrustState, e: DeviceEntry, running: Job | undefined): string | null {
  if (running) {
    if (running.kind === 'trust') return running.phase === 'locked' ? BLOCKED.locked : BLOCKED.trust;
    return BLOCKED[running.kind];
  }
  if (trust === 'locked') return BLOCKED.locked;
  if (trust === 'denied') return BLOCKED.denied;
  if (trust !== 'trusted') return BLOCKED.trust;
  const code = codeOf(e.detailsProblem);
  if (code === 'DEVICE_LOCKED') return BLOCKED.locked;
  if (code === 'NOT_PAIRED') return BLOCKED.trust;
  return null;
}

function problemOf(e: DeviceEntry, running: Job | undefined, lastJob: Job | undefined): ErrorView | null {
  if (e.detailsProblem !== null && isIbackupError(e.detailsProblem)) return e.detailsProblem.toJSON();
  if (running || !lastJob || lastJob.state !== 'failed' || (lastJob.finishedMs ?? 0) < e.attachedMs) return null;
  // A refused password change is told in its dialog, not again behind it.
  if (lastJob.kind === 'encryption') return null;
  return lastJob.error;
}

export function deviceView(
  e: DeviceEntry,
  running: Job | undefined,
  lastTrust: Job | undefined,
  lastJob: Job | undefined,
): DeviceView {
  const trust = trustState(e, running, lastTrust);
  const trusted = trust === 'trusted' && e.summary.paired;
  const info = trusted ? e.info : null;
  const s = e.summary;
  return {
    udid: e.udid,
    connection: s.connection,
    name: s.name ?? (info?.name || null),
    model: s.model ?? (info?.model || null),
    productType: s.productType ?? (info?.productType || null),
    iosVersion: s.iosVersion ?? (info?.iosVersion || null),
    trust,
    serial: info?.serial ?? null,
    capacityBytes: info?.capacityBytes ?? null,
    usedBytes: info?.usedBytes ?? null,
    encryption: info ? info.encryption : null,
    lastBackup: e.lastBackup,
    job: running ? running.view() : null,
    backupBlocked: blocked(trust, e, running),
    problem: problemOf(e, running, lastJob),
  };
}
