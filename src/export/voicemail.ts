/**
 * `export voicemail`: the visual voicemail messages of Library/Voicemail/voicemail.db, their
 * audio files (`<ROWID>.amr` beside the database) copied under readable names, and a CSV (or
 * JSON) list: date in local time, caller, name from the address book, duration, file. Deleted
 * messages (a trashed_date, or flags 75) are left out and counted. Layout facts: iLEAPP
 * scripts/artifacts/voicemail.py (table voicemail: ROWID, date in Unix seconds, sender,
 * callback_num, duration, trashed_date, flags; audio `<ROWID>.amr`). No public reference covers
 * iOS 26: the reader needs ROWID, date, sender and duration and takes the rest when present.
 */
import path from 'node:path';
import { blobPresent } from '../backup/browse.js';
import { contactNames, nameOf } from './contacts.js';
import { OutputFolder, plainName } from './output.js';
import {
  checkCancelled,
  chooseFormat,
  itemProgress,
  type ExportOptions,
  type ExportResult,
  type ExportWarning,
} from './result.js';
import { columnsOf, optionalColumn, requireColumns } from './schema.js';
import { copyOut, findFile, openBackupDb, type Db, type ExportSource } from './source.js';
import { CSV_BOM, csvLine, localIso, localShort } from './text.js';

export const VOICEMAIL_DB = { domain: 'HomeDomain', relativePath: 'Library/Voicemail/voicemail.db' };

export interface Voicemail {
  id: number;
  date: Date | null;
  sender: string;
  durationSeconds: number;
  deleted: boolean;
}

export function readVoicemails(db: Db): Voicemail[] {
  requireColumns(db, 'voicemail database (voicemail.db)', { voicemail: ['ROWID', 'date', 'sender', 'duration'] });
  const have = columnsOf(db, 'voicemail');
  const o = (c: string, f: string): string => optionalColumn(have, 'voicemail', c, f);
  const rows = db
    .prepare(
      `SELECT ROWID AS id, date, sender, ${o('callback_num', 'NULL')} AS callback, duration,
         ${o('trashed_date', '0')} AS trashed, ${o('flags', '0')} AS flags FROM voicemail ORDER BY date, ROWID`,
    )
    .all() as {
    id: number;
    date: number | null;
    sender: string | null;
    callback: string | null;
    duration: number | null;
    trashed: number | null;
    flags: number | null;
  }[];
  return rows.map((r) => ({
    id: r.id,
    date: r.date === null || r.date === 0 ? null : new Date(Number(r.date) * 1000),
    sender: r.sender ?? r.callback ?? '',
    durationSeconds: Math.round(Number(r.duration ?? 0)),
    deleted: Number(r.trashed ?? 0) !== 0 || Number(r.flags ?? 0) === 75,
  }));
}

async function loadVoicemails(source: ExportSource, tempParent?: string): Promise<Voicemail[]> {
  const opened = await openBackupDb(source, VOICEMAIL_DB, 'voicemail database (voicemail.db)', tempParent);
  try {
    return readVoicemails(opened.db);
  } finally {
    opened.close();
  }
}

interface Listed {
  v: Voicemail;
  name: string;
  file: string | null;
}

const HEADER = ['date', 'from', 'name', 'duration_seconds', 'file'];

function listing(format: string, rows: readonly Listed[]): string {
  const values = rows.map((l) => [
    l.v.date === null ? '' : localIso(l.v.date),
    l.v.sender,
    l.name,
    l.v.durationSeconds,
    l.file ?? '',
  ]);
  if (format === 'json')
    return `${JSON.stringify({ voicemail: values.map((r) => Object.fromEntries(HEADER.map((h, i) => [h, r[i] === '' && i === 4 ? null : r[i]]))) }, null, 2)}\n`;
  return CSV_BOM + [HEADER, ...values].map(csvLine).join('');
}

export async function exportVoicemail(source: ExportSource, options: ExportOptions): Promise<ExportResult> {
  const format = chooseFormat('voicemail', options, ['csv', 'json']);
  const all = await loadVoicemails(source, options.tempParent);
  const live = all.filter(
    (v) => !v.deleted && (options.since === undefined || (v.date !== null && v.date >= options.since)),
  );
  const names = await contactNames(source, options.tempParent);
  const folder = await OutputFolder.create(options.out);
  const listed: Listed[] = [];
  for (const [i, v] of live.entries()) {
    checkCancelled(options.signal);
    itemProgress(options, 'voicemail', i, live.length, folder.written.length);
    const name = nameOf(names, v.sender) === v.sender ? '' : nameOf(names, v.sender);
    const entry = findFile(source, { domain: VOICEMAIL_DB.domain, relativePath: `Library/Voicemail/${v.id}.amr` });
    if (entry === undefined || !blobPresent(entry)) {
      listed.push({ v, name, file: null });
      continue;
    }
    const when = v.date === null ? `Voicemail ${v.id}` : localShort(v.date).replace(':', '.');
    const file = folder.unique(`${plainName(`${when} ${name || v.sender}`, `Voicemail ${v.id}`)}.amr`);
    await folder.writeWith(file, async (tmp) => {
      await copyOut(source, entry, tmp);
    });
    listed.push({ v, name, file });
  }
  const warnings: ExportWarning[] = [];
  const deleted = all.length - all.filter((v) => !v.deleted).length;
  if (deleted > 0)
    warnings.push({ code: 'VOICEMAIL_DELETED', message: `${deleted} deleted voicemail messages are not exported.` });
  const missing = listed.filter((l) => l.file === null).length;
  if (missing > 0)
    warnings.push({
      code: 'VOICEMAIL_AUDIO_NOT_IN_BACKUP',
      message: `${missing} voicemail messages have no audio in this backup; the list says which.`,
    });
  if (listed.length > 0) await folder.write(`voicemail.${format}`, listing(format, listed));
  else
    warnings.push({
      code: 'EMPTY',
      message: 'This backup holds no voicemail messages (for this period); nothing was written.',
    });
  return {
    kind: 'voicemail',
    items: listed.length,
    files: folder.written,
    out: path.resolve(options.out),
    format,
    warnings,
  };
}
