/**
 * What a backup run tells as it goes (its phases and counts, for the progress bar and the web
 * app's events), and how it is cancelled: from this computer or by the owner on the iPhone.
 */
import { IbackupError } from '../errors.js';
import { Notifications } from '../host/services/notification-proxy.js';

/** After the first files, a file's arrival is told at most this often (the count travels with every event). */
const FILE_EVENT_MS = 50;
const FILES_ALWAYS_TOLD = 16;

const CANCELLED_MESSAGE = 'The backup was cancelled; the last complete backup is unchanged.';
const CANCELLED_ON_PHONE = 'The backup was cancelled on the iPhone; the last complete backup is unchanged.';

/**
 * preparing: ibackup gets ready; waiting-for-passcode: the iPhone shows its passcode prompt;
 * device-preparing: the iPhone prepares its snapshot and says nothing (minutes on a big phone);
 * backing-up: files arrive; checking / verifying: the new backup is checked before it counts.
 */
export type BackupPhase =
  'preparing' | 'waiting-for-passcode' | 'device-preparing' | 'backing-up' | 'checking' | 'verifying' | 'finishing';

export interface BackupProgress {
  phase: BackupPhase;
  /** The device's own percent (0–100). */
  percent?: number;
  bytesDone: number;
  bytesTotal?: number;
  filesDone: number;
  currentPath?: string;
}

/** The progress of one run. The device's percent is kept between its reports: file events between them carry the last one. */
export class BackupProgressState {
  readonly state: BackupProgress = { phase: 'preparing', bytesDone: 0, filesDone: 0 };
  /** The device has said something since the request (it may be silent for minutes before). */
  private active = false;
  /** The upload under way: the figures before and after it, its announced bytes and those received. */
  private upload: { from: number; to: number; total: number; done: number } | undefined;
  /** When a file's arrival was last told (ms). */
  private lastFileEvent = 0;

  constructor(private readonly onProgress?: (p: BackupProgress) => void) {}

  emit(extra: Partial<BackupProgress> = {}): void {
    this.onProgress?.({ ...this.state, ...extra });
  }

  setPhase(phase: BackupPhase): void {
    this.state.phase = phase;
    this.emit();
  }

  /** The request is sent: the iPhone prepares its snapshot. */
  devicePreparing(): void {
    this.state.phase = 'device-preparing';
    this.state.percent = 0;
    this.emit();
  }

  deviceActive(): void {
    this.active = true;
    if (this.state.phase === 'device-preparing') this.setPhase('backing-up');
  }

  /**
   * The device's figure. With an upload it is where the device will be once the upload's bytes
   * are sent, so the percent shown moves from the previous figure towards it as they arrive,
   * never ahead of the bytes (a first batch's figure would otherwise jump the bar to 90 %).
   */
  percent(percent: number, uploadBytes?: number): void {
    const from = this.upload === undefined ? (this.state.percent ?? 0) : this.upload.to;
    this.upload =
      uploadBytes !== undefined && uploadBytes > 0 && percent > from
        ? { from, to: percent, total: uploadBytes, done: 0 }
        : undefined;
    this.state.percent = this.upload === undefined ? percent : from;
    this.emit();
  }

  bytes(n: number): void {
    this.state.bytesDone += n;
    const u = this.upload;
    if (u === undefined) return;
    u.done += n;
    this.state.percent = u.from + (u.to - u.from) * Math.min(1, u.done / u.total);
  }

  /**
   * A file arrived. Told at once for the first few, then at most every FILE_EVENT_MS: an event
   * per file (an object and a renderer's call each) would cost a big backup more than the rest of
   * its bookkeeping for that file, and no screen shows 20 000 changes a second.
   */
  fileReceived(path: string): void {
    this.state.filesDone++;
    const now = Date.now();
    if (this.state.filesDone > FILES_ALWAYS_TOLD && now - this.lastFileEvent < FILE_EVENT_MS) return;
    this.lastFileEvent = now;
    this.emit({ currentPath: path });
  }

  /** The device said it finished: the host finishes (flush, checks). */
  finishing(): void {
    this.upload = undefined;
    this.state.phase = 'finishing';
    this.state.percent = 100;
    this.emit();
  }

  /** A notification from the iPhone: its passcode prompt shown or closed, or the owner's cancel. */
  notification(name: string, cancelledOnPhone: () => void): void {
    if (name === Notifications.passcodePresented) this.setPhase('waiting-for-passcode');
    else if (name === Notifications.passcodeDismissed) this.setPhase(this.active ? 'backing-up' : 'device-preparing');
    // The owner cancelled on the iPhone (idevicebackup2.c stops on this notification too).
    else if (name === Notifications.syncCancelRequest) cancelledOnPhone();
  }
}

/** Cancelling a run: the caller's signal, or the owner's cancel on the iPhone; both hang up. */
export class RunCancel {
  private readonly controller = new AbortController();
  private onPhone = false;
  private readonly onUserAbort = (): void => this.controller.abort();

  constructor(private readonly user: AbortSignal | undefined) {
    user?.addEventListener('abort', this.onUserAbort, { once: true });
    if (user?.aborted) this.controller.abort();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  cancelledOnPhone(): void {
    this.onPhone = true;
    this.controller.abort();
  }

  /** CANCELLED in the words of who cancelled. */
  error(cause?: unknown): IbackupError {
    return new IbackupError('CANCELLED', {
      message: this.onPhone ? CANCELLED_ON_PHONE : CANCELLED_MESSAGE,
      ...(this.onPhone ? { remedy: 'Run the backup again when you want it.' } : {}),
      ...(cause === undefined ? {} : { cause }),
    });
  }

  dispose(): void {
    this.user?.removeEventListener('abort', this.onUserAbort);
  }
}
