/**
 * "Trust This Computer": pairs with a device, waiting while the owner answers the dialog or
 * unlocks the phone; checks and removes a pairing. Emits events; never prints.
 */
import { IbackupError, isIbackupError } from '../errors.js';
import type { HostDevice } from '../host/device.js';
import type { LockdownClient } from '../host/lockdown/client.js';
import { createPairRecord, type PairRecord } from '../host/lockdown/pairing.js';
import type { PairRecordSource } from '../host/lockdown/pair-records.js';

export type PairEvent =
  /** The phone shows "Trust This Computer?" and waits for the owner. */
  | { type: 'waiting-for-trust'; udid: string }
  /** The phone is locked: it shows no dialog until unlocked. */
  | { type: 'locked'; udid: string }
  /** The owner tapped Trust; the pairing is being saved. */
  | { type: 'trusted'; udid: string };

export interface PairOptions {
  /** How long to wait for the owner in all (default 2 minutes). */
  timeoutMs?: number;
  /** Pause between attempts while waiting (default 1 s). */
  retryMs?: number;
  signal?: AbortSignal;
  onEvent?: (e: PairEvent) => void;
  /** Pair again even when a working pairing exists. */
  force?: boolean;
}

export interface PairResult {
  udid: string;
  paired: true;
  /** A working pairing existed already; nothing was changed. */
  alreadyPaired: boolean;
  /** Where the pair record is kept. */
  savedTo: PairRecordSource;
}

export const DEFAULT_TRUST_TIMEOUT_MS = 120_000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new IbackupError('CANCELLED'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new IbackupError('CANCELLED'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** True when the stored record opens a trusted session (lockdown errors other than trust rethrow). */
async function sessionWorks(device: HostDevice, record: PairRecord, signal?: AbortSignal): Promise<boolean> {
  const lockdown = await device.lockdown(signal);
  try {
    await lockdown.startSession(record);
    await lockdown.stopSession().catch(() => undefined);
    return true;
  } catch (err) {
    if (isIbackupError(err) && (err.code === 'NOT_PAIRED' || err.code === 'CONNECTION_CLOSED')) return false;
    throw err;
  } finally {
    lockdown.close();
  }
}

function toPem(v: unknown): Uint8Array | string {
  if (v instanceof Uint8Array || typeof v === 'string') return v;
  throw new IbackupError('PROTOCOL_DECODE', { message: 'The iPhone did not give its public key (DevicePublicKey).' });
}

/** Asks the device to trust this computer, waiting (bounded) for the owner; saves the pair record. */
export async function pairDevice(device: HostDevice, opts: PairOptions = {}): Promise<PairResult> {
  const { signal } = opts;
  const udid = device.udid;
  if (!opts.force) {
    const found = await device.records.read(udid);
    if (found?.record.EscrowBag && (await sessionWorks(device, found.record, signal))) {
      return { udid, paired: true, alreadyPaired: true, savedTo: found.source };
    }
  }
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TRUST_TIMEOUT_MS);
  const retryMs = opts.retryMs ?? 1000;
  let lockdown: LockdownClient | undefined = await device.lockdown(signal);
  try {
    const publicKey = toPem(await lockdown.getValue(undefined, 'DevicePublicKey'));
    // Read before pairing: some iOS versions refuse it afterwards until a session exists.
    const wifi = await lockdown.getValue(undefined, 'WiFiAddress').catch(() => undefined);
    const buid = await device.mux.readBuid();
    const record = await createPairRecord(publicKey, buid);
    let last: PairEvent['type'] | undefined;
    const tell = (type: 'waiting-for-trust' | 'locked'): void => {
      if (last !== type) opts.onEvent?.({ type, udid });
      last = type;
    };
    for (;;) {
      try {
        lockdown ??= await device.lockdown(signal);
        record.EscrowBag = await lockdown.pair(record);
        break;
      } catch (err) {
        if (!isIbackupError(err)) throw err;
        if (err.code === 'TRUST_PENDING') tell('waiting-for-trust');
        else if (err.code === 'DEVICE_LOCKED') tell('locked');
        else if (err.code === 'CONNECTION_CLOSED') {
          lockdown?.close();
          lockdown = undefined;
        } else throw err;
      }
      if (Date.now() + retryMs > deadline) throw trustTimeout(last, opts.timeoutMs ?? DEFAULT_TRUST_TIMEOUT_MS);
      await sleep(retryMs, signal);
    }
    opts.onEvent?.({ type: 'trusted', udid });
    if (typeof wifi === 'string') record.WiFiMACAddress = wifi;
    const savedTo = await device.records.save(udid, record, device.info.deviceId);
    return { udid, paired: true, alreadyPaired: false, savedTo };
  } finally {
    lockdown?.close();
  }
}

function trustTimeout(last: PairEvent['type'] | undefined, ms: number): IbackupError {
  const secs = Math.round(ms / 1000);
  if (last === 'locked') {
    return new IbackupError('DEVICE_LOCKED', {
      message: `The iPhone stayed locked for ${secs} s, so it could not ask "Trust This Computer?".`,
      remedy: 'Unlock the iPhone, keep it unlocked, run "ibackup pair" again and tap "Trust".',
    });
  }
  return new IbackupError('TIMEOUT', {
    message: `Nobody answered "Trust This Computer?" on the iPhone within ${secs} s.`,
    remedy: 'Unlock the iPhone, run "ibackup pair" again, tap "Trust" and enter the passcode.',
  });
}

export interface PairCheck {
  udid: string;
  /** A pair record exists and a trusted session starts. */
  paired: boolean;
  /** Where the record was found, when one was. */
  source: PairRecordSource | null;
  /** Why not, when not paired. */
  problem: { code: string; message: string; remedy: string } | null;
}

/** `pair --check`: is there a stored record, and does the device still accept it? */
export async function checkPairing(device: HostDevice, signal?: AbortSignal): Promise<PairCheck> {
  const udid = device.udid;
  const found = await device.records.read(udid);
  if (!found) {
    return { udid, paired: false, source: null, problem: new IbackupError('NOT_PAIRED').toJSON() };
  }
  try {
    if (await sessionWorks(device, found.record, signal))
      return { udid, paired: true, source: found.source, problem: null };
    return {
      udid,
      paired: false,
      source: found.source,
      problem: new IbackupError('NOT_PAIRED', notTrustedAnyMore).toJSON(),
    };
  } catch (err) {
    if (!isIbackupError(err) || err.code === 'CANCELLED') throw err;
    return { udid, paired: false, source: found.source, problem: err.toJSON() };
  }
}

const notTrustedAnyMore = {
  message: 'A pairing is stored, but the iPhone no longer accepts it.',
  remedy: 'Run "ibackup pair", unlock the iPhone and tap "Trust".',
};

export interface UnpairResult {
  udid: string;
  /** A pair record was stored (and is now removed). */
  wasPaired: boolean;
  /** The device itself forgot this computer (false when it did not know it any more). */
  deviceForgot: boolean;
}

/** Tells the device to forget this computer, then deletes the pair record. */
export async function unpairDevice(device: HostDevice, signal?: AbortSignal): Promise<UnpairResult> {
  const udid = device.udid;
  const found = await device.records.read(udid);
  if (!found) return { udid, wasPaired: false, deviceForgot: false };
  let deviceForgot = false;
  const lockdown = await device.lockdown(signal);
  try {
    await lockdown.unpair(found.record.HostID);
    deviceForgot = true;
  } catch (err) {
    if (!isIbackupError(err) || err.code !== 'NOT_PAIRED') throw err;
  } finally {
    lockdown.close();
  }
  await device.records.delete(udid);
  return { udid, wasPaired: true, deviceForgot };
}
