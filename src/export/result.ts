/** What every export takes and returns (CLI.md: `{"kind","items","files","out","warnings"}`). */
import path from 'node:path';
import { IbackupError } from '../errors.js';

export type ExportKind = 'contacts' | 'messages' | 'calls' | 'notes' | 'voicemail';
export const EXPORT_KINDS: readonly ExportKind[] = ['contacts', 'messages', 'calls', 'notes', 'voicemail'];

export interface ExportWarning {
  code: string;
  message: string;
}

export interface ExportResult {
  kind: ExportKind;
  /** Contacts, messages, calls, notes or voicemails written. */
  items: number;
  /** Files written (absolute paths). */
  files: string[];
  /** The folder or file written to (absolute). */
  out: string;
  format: string;
  warnings: ExportWarning[];
}

export interface ExportProgress {
  phase: string;
  percent: number;
  bytesDone: number;
  filesDone: number;
  filesTotal?: number;
}

export interface ExportOptions {
  /** The file or folder to write (parents created). */
  out: string;
  /** A format the kind knows; default from `out`'s extension, else the kind's default. */
  format?: string;
  /** Parent of the private temporary folders (default: the system temp folder). */
  tempParent?: string;
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
  /** messages: only conversations with this handle (phone number, e-mail, chat name or identifier). */
  chat?: string;
  /** messages and calls: only what happened at or after this instant. */
  since?: Date;
}

/** The format to write: `--format`, else `out`'s extension when the kind knows it, else the default. */
export function chooseFormat(kind: ExportKind, options: ExportOptions, known: readonly string[]): string {
  const asked = options.format?.toLowerCase();
  if (asked !== undefined) {
    if (known.includes(asked)) return asked;
    throw new IbackupError('USAGE', {
      message: `"${options.format}" is not a format of "export ${kind}" (it writes ${known.join(', ')}).`,
      remedy: `Use --format ${known.join(' or --format ')}.`,
    });
  }
  const ext = path.extname(options.out).slice(1).toLowerCase();
  return known.includes(ext) ? ext : (known[0] as string);
}

/** Throws CANCELLED when the signal is aborted. */
export function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new IbackupError('CANCELLED', { message: 'The export was cancelled.' });
}

/** Reports item `done` of `total` as a progress event of `phase` (files written so far). */
export function itemProgress(options: ExportOptions, phase: string, done: number, total: number, files: number): void {
  options.onProgress?.({
    phase,
    percent: total === 0 ? 100 : Math.round((done / total) * 100),
    bytesDone: 0,
    filesDone: files,
    filesTotal: total,
  });
}
