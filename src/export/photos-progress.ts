/**
 * Progress of a photo export: files and bytes done out of the plan, and an estimate of the time
 * left from the rate so far; reported at most every 200 ms, and always at the end of the plan.
 */

export interface PhotoExportProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Seconds left at the rate so far (null until there is a rate). */
  etaSeconds: number | null;
}

export interface ProgressTracker {
  bytes(n: number): void;
  fileDone(): void;
  end(): void;
}

const INTERVAL_MS = 200;

export function planProgress(
  files: readonly { size: number }[],
  onProgress: ((p: PhotoExportProgress) => void) | undefined,
  intervalMs = INTERVAL_MS,
  now: () => number = Date.now,
): ProgressTracker {
  const started = now();
  let last = 0;
  const p: PhotoExportProgress = {
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: files.reduce((a, f) => a + f.size, 0),
    etaSeconds: null,
  };
  const emit = (force: boolean): void => {
    const t = now();
    if (onProgress === undefined || (!force && t - last < intervalMs)) return;
    last = t;
    const elapsed = (t - started) / 1000;
    const rate = elapsed > 0 ? p.bytesDone / elapsed : 0;
    p.etaSeconds = rate > 0 ? Math.max(0, Math.round((p.bytesTotal - p.bytesDone) / rate)) : null;
    onProgress({ ...p });
  };
  emit(true);
  return {
    bytes(n) {
      p.bytesDone += n;
      emit(false);
    },
    fileDone() {
      p.filesDone++;
      emit(p.filesDone === p.filesTotal);
    },
    end() {
      if (p.filesDone !== p.filesTotal || p.filesTotal === 0) emit(true);
    },
  };
}
