/**
 * Progress on the terminal: a bar with percent, bytes, speed and ETA on a TTY; plain lines
 * otherwise (at most one every few seconds); NDJSON events on stderr with --json (on every phase
 * or percent change, else a few per second).
 */
import cliProgress from 'cli-progress';
import type { BackupProgress } from '../app/backup.js';
import { humanBytes } from './device-choice.js';

export interface ProgressRenderer {
  update(p: BackupProgress): void;
  note(message: string): void;
  stop(): void;
}

const PLAIN_INTERVAL_MS = 3000;

/** What the user is told when a backup enters a phase. */
const PHASE_LINES: Partial<Record<BackupProgress['phase'], string>> = {
  'waiting-for-passcode': 'Enter your passcode on the iPhone to allow the backup.',
  'device-preparing': 'The iPhone is preparing the backup — this can take several minutes on a phone with many files.',
  checking: 'Checking the files the iPhone reused from the interrupted backup…',
  verifying: 'Verifying the new backup…',
};
const JSON_INTERVAL_MS = 200;

export function progressRenderer(mode: { json: boolean; quiet: boolean }): ProgressRenderer {
  const startedAt = Date.now();
  const rate = (bytes: number): number => bytes / Math.max(0.001, (Date.now() - startedAt) / 1000);
  const eta = (p: BackupProgress): string => {
    if (p.percent === undefined || p.percent <= 1 || p.percent >= 100) return '';
    const elapsed = (Date.now() - startedAt) / 1000;
    const left = (elapsed * (100 - p.percent)) / p.percent;
    return left < 60 ? `${Math.ceil(left)} s left` : `${Math.ceil(left / 60)} min left`;
  };
  // A line when the backup enters a phase in which no bar moves (once per entry).
  let lastPhase: string | undefined;
  const phaseNote = (p: BackupProgress, write: (line: string) => void): boolean => {
    const line = PHASE_LINES[p.phase];
    if (p.phase !== lastPhase && line) write(line);
    lastPhase = p.phase;
    return p.phase === 'waiting-for-passcode' || p.phase === 'device-preparing';
  };

  if (mode.json) {
    // One event per phase or percent change, else at most one per JSON_INTERVAL_MS: a line per
    // file would cost a big backup more than its own bookkeeping.
    let lastAt = 0;
    let lastKey = '';
    return {
      update: (p) => {
        const key = `${p.phase} ${p.percent === undefined ? '' : Math.floor(p.percent)}`;
        const now = Date.now();
        if (key === lastKey && now - lastAt < JSON_INTERVAL_MS) return;
        lastKey = key;
        lastAt = now;
        process.stderr.write(
          `${JSON.stringify({ event: 'progress', phase: p.phase, percent: p.percent ?? null, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal ?? null, filesDone: p.filesDone })}\n`,
        );
      },
      note: (message) => process.stderr.write(`${JSON.stringify({ event: 'message', message })}\n`),
      stop: () => undefined,
    };
  }
  if (mode.quiet) return { update: () => undefined, note: () => undefined, stop: () => undefined };

  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: '{bar} {percentage}% | {done} | {speed} | {files} files | {eta_text}',
        stream: process.stderr,
        hideCursor: true,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (p) => {
        if (phaseNote(p, (line) => process.stderr.write(`${started ? '\n' : ''}${line}\n`))) return;
        const payload = {
          done: humanBytes(p.bytesDone),
          speed: `${humanBytes(Math.round(rate(p.bytesDone)))}/s`,
          files: p.filesDone,
          eta_text: eta(p),
        };
        if (!started) {
          bar.start(100, Math.floor(p.percent ?? 0), payload);
          started = true;
        } else bar.update(Math.floor(p.percent ?? 0), payload);
      },
      note: (message) => process.stderr.write(`${message}\n`),
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  let lastPercent = -1;
  return {
    update: (p) => {
      if (phaseNote(p, (line) => process.stderr.write(`${line}\n`)) || p.phase === 'preparing') return;
      const percent = Math.floor(p.percent ?? 0);
      if (Date.now() - last < PLAIN_INTERVAL_MS && percent !== 100 && percent === lastPercent) return;
      if (Date.now() - last < PLAIN_INTERVAL_MS && percent !== 100) return;
      last = Date.now();
      lastPercent = percent;
      const e = eta(p);
      process.stderr.write(
        `${p.phase}: ${percent}%, ${humanBytes(p.bytesDone)} in ${p.filesDone} files, ${humanBytes(Math.round(rate(p.bytesDone)))}/s${e ? `, ${e}` : ''}\n`,
      );
    },
    note: (message) => process.stderr.write(`${message}\n`),
    stop: () => undefined,
  };
}
