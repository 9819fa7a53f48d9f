/**
 * Progress of work on a backup on disk (verify, extract): a bar on a terminal, a plain line every
 * few seconds otherwise, NDJSON `{"event":"progress",…}` events on stderr with --json (at most
 * a few per second), nothing with --quiet.
 */
import { terminalBar } from './terminal-bar.js';
import { formatBytes } from '../app/format-bytes.js';

export interface WorkProgress {
  phase: string;
  percent: number;
  bytesDone: number;
  bytesTotal?: number;
  filesDone: number;
  filesTotal?: number;
}

export interface WorkRenderer {
  update(p: WorkProgress): void;
  stop(): void;
}

const JSON_INTERVAL_MS = 200;
const PLAIN_INTERVAL_MS = 3000;

export function workRenderer(mode: { json: boolean; quiet: boolean }): WorkRenderer {
  let last = 0;
  let finished = false;
  /** Throttled; the end (every file done) is always shown, once. */
  const due = (p: WorkProgress, interval: number): boolean => {
    const now = Date.now();
    const end = p.filesTotal !== undefined ? p.filesDone >= p.filesTotal : p.percent >= 100;
    if (end ? finished : now - last < interval) return false;
    finished ||= end;
    last = now;
    return true;
  };
  if (mode.json) {
    return {
      update: (p) => {
        if (!due(p, JSON_INTERVAL_MS)) return;
        process.stderr.write(
          `${JSON.stringify({ event: 'progress', phase: p.phase, percent: p.percent, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal ?? null, filesDone: p.filesDone })}\n`,
        );
      },
      stop: () => undefined,
    };
  }
  if (mode.quiet) return { update: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY) {
    const bar = terminalBar('{phase} {bar} {percentage}% | {done} | {files} files');
    let started = false;
    return {
      update: (p) => {
        const payload = {
          phase: p.phase,
          done: formatBytes(p.bytesDone),
          files: p.filesTotal === undefined ? `${p.filesDone}` : `${p.filesDone}/${p.filesTotal}`,
        };
        if (!started) bar.start(100, p.percent, payload);
        else bar.update(p.percent, payload);
        started = true;
      },
      stop: () => {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  return {
    update: (p) => {
      if (!due(p, PLAIN_INTERVAL_MS)) return;
      const files = p.filesTotal === undefined ? `${p.filesDone} files` : `${p.filesDone} of ${p.filesTotal} files`;
      process.stderr.write(`${p.phase}: ${p.percent}%, ${files}, ${formatBytes(p.bytesDone)}\n`);
    },
    stop: () => undefined,
  };
}
