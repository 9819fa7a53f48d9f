/**
 * `export contacts|messages|calls|notes|voicemail`: readable copies of what a backup holds. The
 * backup is opened by the caller (backup-view.ts, encrypted ones too); the reading and writing is
 * the export layer's (src/export/).
 */
import { exportCalls } from '../export/calls.js';
import { exportContacts } from '../export/contacts.js';
import { conversationSummaries, exportMessages, type ConversationSummary } from '../export/messages.js';
import { exportNotes } from '../export/notes.js';
import { exportVoicemail } from '../export/voicemail.js';
import type { ExportKind, ExportOptions, ExportResult } from '../export/result.js';
import type { ExportSource } from '../export/source.js';
import { IbackupError } from '../errors.js';
import { openBackupView } from './backup-view.js';
import { KeyCache } from './password.js';

export { EXPORT_KINDS } from '../export/result.js';
export type { ConversationSummary } from '../export/messages.js';
export type { ExportKind, ExportOptions, ExportProgress, ExportResult, ExportWarning } from '../export/result.js';

const EXPORTERS: Partial<Record<ExportKind, (source: ExportSource, options: ExportOptions) => Promise<ExportResult>>> =
  {
    contacts: exportContacts,
    messages: exportMessages,
    calls: exportCalls,
    notes: exportNotes,
    voicemail: exportVoicemail,
  };

/** Kinds this version can export. */
export function exportKinds(): ExportKind[] {
  return Object.keys(EXPORTERS) as ExportKind[];
}

/** The default file or folder of an export, relative to the current folder. */
export function defaultExportOut(kind: ExportKind, format?: string): string {
  switch (kind) {
    case 'contacts':
      return 'contacts.vcf';
    case 'calls':
      return `calls.${format ?? 'csv'}`;
    default:
      return kind;
  }
}

/** Writes one kind of readable export of an open backup. */
export async function exportFromBackup(
  source: ExportSource,
  kind: ExportKind,
  options: ExportOptions,
): Promise<ExportResult> {
  const run = EXPORTERS[kind];
  if (run === undefined)
    throw new IbackupError('USAGE', {
      message: `"export ${kind}" is not available in this version.`,
      remedy: `Export one of: ${exportKinds().join(', ')}.`,
    });
  return run(source, options);
}

/** A --since value: YYYY-MM-DD (local midnight) or any date and time Date.parse reads. */
export function parseSince(value: string): Date {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  const d = day === null ? new Date(Date.parse(value)) : new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
  if (Number.isNaN(d.getTime()))
    throw new IbackupError('USAGE', {
      message: `--since ${JSON.stringify(value)} is not a date.`,
      remedy: 'Give a date as YYYY-MM-DD, or a date and time such as 2024-05-01T18:00.',
    });
  return d;
}

/** How the web app opens a backup: a password it was given, else a saved key. */
function viewOptions(password: string | undefined): Parameters<typeof openBackupView>[1] {
  return { keyCache: new KeyCache(), ...(password === undefined ? {} : { password: async () => password }) };
}

/** Opens the backup at `dir` (encrypted: with `password` or a saved key), exports, closes. */
export async function exportBackupAt(
  dir: string,
  kind: ExportKind,
  options: ExportOptions,
  password?: string,
): Promise<ExportResult> {
  const view = await openBackupView(dir, viewOptions(password));
  try {
    return await exportFromBackup(view, kind, options);
  } finally {
    view.close();
  }
}

/** The conversations of the backup at `dir`, newest first (for a picker). */
export async function listConversations(dir: string, password?: string): Promise<ConversationSummary[]> {
  const view = await openBackupView(dir, viewOptions(password));
  try {
    return await conversationSummaries(view);
  } finally {
    view.close();
  }
}
