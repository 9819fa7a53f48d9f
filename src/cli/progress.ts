/**
 * Progress on the terminal: a bar with percent, bytes, speed and ETA on a TTY; plain lines
 * otherwise (at most one every few seconds); NDJSON events on stderr with --json (on every phase
 * or percent change, else a few per second).
 */
import { terminalBar } from './terminal-bar.js';
import type { BackupProgress } from '../app/backup.js';
import { formatBytes } from '../app/format-bytes.js';

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

/** Speed, time left and phase lines, measured from when the renderer was made. */
interface Pace {
  rate(bytes: number): number;
  eta(p: BackupProgress): string;
  /** Writes the line of a phase the backup enters (once per entry); true while no bar moves. */
  phaseNote(p: BackupProgress, write: (line: string) => void): boolean;
}

/** How long the iPhone must stay silent after the request before "preparing" is said. */
const PREPARING_NOTE_DELAY_MS = 1500;

/** Runs `f` after the delay without keeping the process alive for it. */
function later(f: () => void): NodeJS.Timeout {
  const t = setTimeout(f, PREPARING_NOTE_DELAY_MS);
  t.unref();
  return t;
}

function pace(): Pace {
  const startedAt = Date.now();
  let lastPhase: string | undefined;
  let pending: NodeJS.Timeout | undefined;
  return {
    rate: (bytes) => bytes / Math.max(0.001, (Date.now() - startedAt) / 1000),
    eta: (p) => {
      if (p.percent === undefined || p.percent <= 1 || p.percent >= 100) return '';
      const elapsed = (Date.now() - startedAt) / 1000;
      const left = (elapsed * (100 - p.percent)) / p.percent;
      return left < 60 ? `${Math.ceil(left)} s left` : `${Math.ceil(left / 60)} min left`;
    },
    phaseNote: (p, write) => {
      if (p.phase !== lastPhase) {
        clearTimeout(pending);
        const line = PHASE_LINES[p.phase];
        // The silent preparation is announced only once it lasts: an iPhone that asks for its
        // passcode does so within a moment of the request, and an older one starts at once.
        if (line && p.phase === 'device-preparing')
          pending = later(() => lastPhase === 'device-preparing' && write(line));
        else if (line) write(line);
      }
      lastPhase = p.phase;
      return p.phase === 'waiting-for-passcode' || p.phase === 'device-preparing';
    },
  };
}

/**
 * One event per phase or percent change, else at most one per JSON_INTERVAL_MS: a line per file
 * would cost a big backup more than its own bookkeeping.
 */
function jsonRenderer(): ProgressRenderer {
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

function barRenderer(pc: Pace): ProgressRenderer {
  const bar = terminalBar('{bar} {percentage}% | {done} | {speed} | {files} files | {eta_text}');
  let started = false;
  return {
    update: (p) => {
      if (pc.phaseNote(p, (line) => process.stderr.write(`${started ? '\n' : ''}${line}\n`))) return;
      const payload = {
        done: formatBytes(p.bytesDone),
        speed: `${formatBytes(Math.round(pc.rate(p.bytesDone)))}/s`,
        files: p.filesDone,
        eta_text: pc.eta(p),
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

function plainRenderer(pc: Pace): ProgressRenderer {
  let last = 0;
  let lastPercent = -1;
  return {
    update: (p) => {
      if (pc.phaseNote(p, (line) => process.stderr.write(`${line}\n`)) || p.phase === 'preparing') return;
      const percent = Math.floor(p.percent ?? 0);
      if (Date.now() - last < PLAIN_INTERVAL_MS && percent !== 100 && percent === lastPercent) return;
      if (Date.now() - last < PLAIN_INTERVAL_MS && percent !== 100) return;
      last = Date.now();
      lastPercent = percent;
      const e = pc.eta(p);
      process.stderr.write(
        `${p.phase}: ${percent}%, ${formatBytes(p.bytesDone)} in ${p.filesDone} files, ${formatBytes(Math.round(pc.rate(p.bytesDone)))}/s${e ? `, ${e}` : ''}\n`,
      );
    },
    note: (message) => process.stderr.write(`${message}\n`),
    stop: () => undefined,
  };
}

export function progressRenderer(mode: { json: boolean; quiet: boolean }): ProgressRenderer {
  const pc = pace();
  if (mode.json) return jsonRenderer();
  if (mode.quiet) return { update: () => undefined, note: () => undefined, stop: () => undefined };
  return process.stderr.isTTY ? barRenderer(pc) : plainRenderer(pc);
}
