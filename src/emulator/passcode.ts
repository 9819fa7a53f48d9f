/**
 * The passcode prompt of iOS 16.1 and later: before a backup or a change of the backup password
 * the phone shows "Enter Passcode" (hosts see `com.apple.LocalAuthentication.ui.presented`, then
 * `…ui.dismissed`). The owner's answer follows the device's passcode behaviour, read again while
 * the prompt is up so `ibackup emulator ctl … passcode` can answer it; without an answer the
 * prompt times out and the request ends with "Device locked".
 */
import type { PasscodeBehaviour } from './profile-types.js';

export const PROMPT_PRESENTED = 'com.apple.LocalAuthentication.ui.presented';
export const PROMPT_DISMISSED = 'com.apple.LocalAuthentication.ui.dismissed';

/** How often the prompt looks at the owner's behaviour again. */
const POLL_MS = 50;

export interface PasscodePrompt {
  /** iOS version of the device, e.g. "17.5.1". */
  productVersion: string;
  /** The owner's current behaviour (re-read while the prompt is up). */
  behaviour: () => PasscodeBehaviour;
  /** Seconds the prompt stays up without an answer. */
  timeoutSeconds: number;
  /** Posts a notification to observing hosts. */
  post: (name: string) => void;
}

/** True when this iOS version asks for the passcode before a backup (16.1 and later). */
export function asksForPasscode(productVersion: string): boolean {
  const [major = 0, minor = 0] = productVersion.split('.').map((p) => Number(p));
  return major > 16 || (major === 16 && minor >= 1);
}

/**
 * Shows the prompt when the iOS version has one. Resolves `true` when the passcode was entered
 * (or no prompt was needed), `false` when the prompt timed out. Rejects when `signal` aborts.
 */
export async function askForPasscode(p: PasscodePrompt, signal: AbortSignal): Promise<boolean> {
  if (!asksForPasscode(p.productVersion)) return true;
  p.post(PROMPT_PRESENTED);
  const started = Date.now();
  const timeoutMs = Math.max(0, p.timeoutSeconds * 1000);
  try {
    for (;;) {
      const b = p.behaviour();
      const elapsed = Date.now() - started;
      if (b.mode === 'enter') return true;
      if (b.mode === 'after' && elapsed >= b.seconds * 1000 && b.seconds * 1000 <= timeoutMs) return true;
      if (elapsed >= timeoutMs) return false;
      const next = b.mode === 'after' ? Math.max(1, b.seconds * 1000 - elapsed) : timeoutMs - elapsed;
      await sleep(Math.min(POLL_MS, next, timeoutMs - elapsed), signal);
    }
  } finally {
    p.post(PROMPT_DISMISSED);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
