/**
 * Keeping watch on a Wi-Fi link during a run: over the network a phone that walks away leaves a
 * connection that never closes, so the run would wait for its full timeout. For a phone reached
 * over Wi-Fi the run keeps lockdown's heartbeat service open and TCP keepalive on, and a phone
 * that stops answering ends the run at once, like an unplugged cable (the last complete backup
 * stays whole). Over USB nothing is added: the cable's removal is seen at once.
 */
import { IbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import { HEARTBEAT_SERVICE, HeartbeatMonitor } from '../host/services/heartbeat.js';
import { timeScale } from './device-wait.js';

export interface LinkGuard {
  /** Aborts when the caller's signal does, or when the phone stops answering over Wi-Fi. */
  signal: AbortSignal;
  /** Why the run must end, when the guard ended it. */
  lostError(): IbackupError | undefined;
  stop(): void;
}

export interface LinkGuardOptions {
  /** How many stated intervals of silence end the run (default 3); never under 1.5 s. */
  silenceMs?: (intervalSeconds: number) => number;
}

const defaultSilence = (interval: number): number => Math.max(1500, interval * 3 * 1000 * timeScale());

/** Starts watching the phone's link when it is reached over the network. */
export async function guardLink(
  device: HostDevice,
  signal?: AbortSignal,
  opts: LinkGuardOptions = {},
): Promise<LinkGuard> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  let lost: IbackupError | undefined;
  let monitor: HeartbeatMonitor | undefined;
  if (device.info.connection === 'Network') {
    const link = await device.startService(HEARTBEAT_SERVICE, signal ? { signal } : {});
    keepAlive(link.raw);
    monitor = new HeartbeatMonitor(link, {
      silenceMs: opts.silenceMs ?? defaultSilence,
      lost: (reason) => {
        lost = new IbackupError('CONNECTION_CLOSED', {
          message: `The connection to the iPhone over Wi-Fi was lost: ${reason}.`,
          remedy:
            'Keep the iPhone near the Wi-Fi router and awake, or connect it with a cable; the backup is tried again when it is back.',
          details: { udid: device.udid },
        });
        controller.abort(lost);
        // Requests on the silent link would each wait for their timeout: close them all now.
        device.closeAll(lost);
      },
    });
  }
  return {
    signal: controller.signal,
    lostError: () => lost,
    stop: () => {
      monitor?.stop();
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** TCP keepalive where the link is a TCP socket (a phone reached directly on its network port). */
function keepAlive(raw: unknown): void {
  const s = raw as { setKeepAlive?: (on: boolean, delayMs: number) => void };
  if (typeof s.setKeepAlive === 'function') s.setKeepAlive(true, 5_000);
}

/** Runs `work` with the guard's signal; a run ended by a lost link fails with that reason. */
export async function withLinkGuard<T>(
  device: HostDevice,
  signal: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
  opts: LinkGuardOptions = {},
): Promise<T> {
  const guard = await guardLink(device, signal, opts);
  try {
    return await work(guard.signal);
  } catch (err) {
    throw guard.lostError() ?? err;
  } finally {
    guard.stop();
  }
}
