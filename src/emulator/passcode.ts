/**
 * The passcode prompt: before a backup (iOS 16.1+) or a change of the backup password (iOS 13+)
 * a phone with a passcode shows "Enter Passcode" (hosts see
 * `com.apple.LocalAuthentication.ui.presented`, then `…ui.dismissed`) and sends nothing until it is
 * entered. The owner's answer follows the device's passcode behaviour, read again while the prompt
 * is up so `ibackup emulator ctl … passcode` can answer it; without an answer the prompt times out
 * and the request ends with "Device locked". The timeout and the owner's delay are both modelled
 * times, compressed by the profile's time scale.
 */
import { backupAsksForPasscode, passwordChangeAsksForPasscode, scaledMs } from './ios-generations.js';
import type { PasscodeBehaviour } from './profile-types.js';

export const PROMPT_PRESENTED = 'com.apple.LocalAuthentication.ui.presented';
export const PROMPT_DISMISSED = 'com.apple.LocalAuthentication.ui.dismissed';

/** How often the prompt looks at the owner's behaviour again. */
const POLL_MS = 50;

/** What the prompt is for: the rules of when it appears differ. */
export type PasscodeReason = 'backup' | 'password-change';

export interface PasscodePrompt {
  /** iOS version of the device, e.g. "17.5.1". */
  productVersion: string;
  /** Default 'backup'. */
  reason?: PasscodeReason;
  /** The owner's current behaviour (re-read while the prompt is up). */
  behaviour: () => PasscodeBehaviour;
  /** Seconds the prompt stays up without an answer. */
  timeoutSeconds: number;
  /** Multiplies the timeout and the owner's delay (default 1). */
  timeScale?: number;
  /** Posts a notification to observing hosts. */
  post: (name: string) => void;
}

/** True when this iOS version asks for the passcode before a backup (16.1 and later). */
export function asksForPasscode(productVersion: string, reason: PasscodeReason = 'backup'): boolean {
  return reason === 'backup' ? backupAsksForPasscode(productVersion) : passwordChangeAsksForPasscode(productVersion);
}

/**
 * Shows the prompt when the iOS version has one. Resolves `true` when the passcode was entered
 * (or no prompt was needed), `false` when the prompt timed out. Rejects when `signal` aborts.
 */
export async function askForPasscode(p: PasscodePrompt, signal: AbortSignal): Promise<boolean> {
  if (!asksForPasscode(p.productVersion, p.reason)) return true;
  const scale = p.timeScale ?? 1;
  p.post(PROMPT_PRESENTED);
  const started = Date.now();
  const timeoutMs = scaledMs(p.timeoutSeconds, scale);
  try {
    for (;;) {
      const b = p.behaviour();
      const elapsed = Date.now() - started;
      const typedAfterMs = b.mode === 'after' ? scaledMs(b.seconds, scale) : 0;
      if (b.mode === 'enter') return true;
      if (b.mode === 'after' && elapsed >= typedAfterMs && typedAfterMs <= timeoutMs) return true;
      if (elapsed >= timeoutMs) return false;
      const next = b.mode === 'after' ? Math.max(1, typedAfterMs - elapsed) : timeoutMs - elapsed;
      await sleep(Math.min(POLL_MS, next, timeoutMs - elapsed), signal);
    }
  } finally {
    p.post(PROMPT_DISMISSED);
  }
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error a cancelled wait rejects with: the signal's own reason when it is one. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('cancelled');
}
