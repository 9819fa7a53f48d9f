/**
 * `export calls`: the call log of CallHistory.storedata (ZCALLRECORD) as CSV or JSON — number,
 * name (from the address book, else the one the log recorded), direction, whether answered,
 * duration, date in local time, type. Layout facts: iLEAPP scripts/artifacts/callHistory.py (the
 * columns and the ZCALLTYPE values 0 third-party app, 1 phone, 8 FaceTime video, 16 FaceTime
 * audio, ZORIGINATED 1 for outgoing) and mvt src/mvt/ios/modules/mixed/calls.py (ZADDRESS may hold
 * bytes). No public reference covers iOS 26: the reader needs Z_PK, ZDATE, ZADDRESS, ZDURATION
 * and ZORIGINATED and uses the other columns when present.
 */
import path from 'node:path';
import { contactNames, nameOf } from './contacts.js';
import { OutputFolder } from './output.js';
import { chooseFormat, type ExportOptions, type ExportResult, type ExportWarning } from './result.js';
import { columnsOf, optionalColumn, requireColumns } from './schema.js';
import { openBackupDb, type Db, type ExportSource } from './source.js';
import { CSV_BOM, cocoaDate, csvLine, localIso } from './text.js';

export const CALL_HISTORY = { domain: 'HomeDomain', relativePath: 'Library/CallHistoryDB/CallHistory.storedata' };

const TYPES: Record<number, string> = { 0: 'Third-party app', 1: 'Phone', 8: 'FaceTime video', 16: 'FaceTime audio' };

export interface Call {
  id: number;
  date: Date | null;
  number: string;
  /** The name the log recorded (ZNAME), when any. */
  recordedName: string | null;
  direction: 'outgoing' | 'incoming' | 'missed';
  answered: boolean;
  durationSeconds: number;
  type: string;
  service: string | null;
  country: string | null;
  location: string | null;
}

interface Row {
  id: number;
  date: number | null;
  address: unknown;
  duration: number | null;
  originated: number | null;
  answered: number | null;
  type: number | null;
  name: string | null;
  service: string | null;
  country: string | null;
  location: string | null;
}

function addressText(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8').replace(/\0+$/, '');
  return v === null || v === undefined ? '' : String(v);
}

export function readCalls(db: Db): Call[] {
  requireColumns(db, 'call history (CallHistory.storedata)', {
    ZCALLRECORD: ['Z_PK', 'ZDATE', 'ZADDRESS', 'ZDURATION', 'ZORIGINATED'],
  });
  const have = columnsOf(db, 'ZCALLRECORD');
  const o = (c: string): string => optionalColumn(have, 'ZCALLRECORD', c);
  const rows = db
    .prepare(
      `SELECT Z_PK AS id, ZDATE AS date, ZADDRESS AS address, ZDURATION AS duration, ZORIGINATED AS originated,
         ${o('ZANSWERED')} AS answered, ${o('ZCALLTYPE')} AS type, ${o('ZNAME')} AS name,
         ${o('ZSERVICE_PROVIDER')} AS service, ${o('ZISO_COUNTRY_CODE')} AS country, ${o('ZLOCATION')} AS location
       FROM ZCALLRECORD ORDER BY ZDATE, Z_PK`,
    )
    .all() as Row[];
  return rows.map((r) => {
    const outgoing = r.originated === 1;
    const answered = r.answered === null ? Number(r.duration ?? 0) > 0 : r.answered === 1;
    return {
      id: r.id,
      date: cocoaDate(r.date),
      number: addressText(r.address),
      recordedName: r.name === null || r.name === '' ? null : r.name,
      direction: outgoing ? 'outgoing' : answered ? 'incoming' : 'missed',
      answered,
      durationSeconds: Math.round(Number(r.duration ?? 0)),
      type: r.type === null ? 'Phone' : (TYPES[r.type] ?? `Other (${r.type})`),
      service: r.service,
      country: r.country === null ? null : r.country.toUpperCase(),
      location: r.location,
    };
  });
}

/** "1:02:03" or "2:03". */
export function clock(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const HEADER = [
  'date',
  'number',
  'name',
  'direction',
  'answered',
  'duration_seconds',
  'duration',
  'type',
  'service',
  'country',
  'location',
];

function rowsOf(calls: readonly Call[], name: (c: Call) => string): (string | number | boolean | null)[][] {
  return calls.map((c) => [
    c.date === null ? '' : localIso(c.date),
    c.number,
    name(c),
    c.direction,
    c.answered,
    c.durationSeconds,
    clock(c.durationSeconds),
    c.type,
    c.service,
    c.country,
    c.location,
  ]);
}

/** The file to write: --out itself, or `calls.<format>` inside it when it names a folder (no extension). */
export function singleFileTarget(out: string, base: string, format: string): string {
  const abs = path.resolve(out);
  return path.extname(abs) === '' ? path.join(abs, `${base}.${format}`) : abs;
}

export async function exportCalls(source: ExportSource, options: ExportOptions): Promise<ExportResult> {
  const format = chooseFormat('calls', options, ['csv', 'json']);
  const opened = await openBackupDb(source, CALL_HISTORY, 'call history (CallHistory.storedata)', options.tempParent);
  let calls: Call[];
  try {
    calls = readCalls(opened.db);
  } finally {
    opened.close();
  }
  const since = options.since;
  if (since !== undefined) calls = calls.filter((c) => c.date !== null && c.date >= since);
  const names = await contactNames(source, options.tempParent);
  const name = (c: Call): string => {
    const n = nameOf(names, c.number);
    return n !== c.number ? n : (c.recordedName ?? '');
  };
  const target = singleFileTarget(options.out, 'calls', format);
  const warnings: ExportWarning[] = [];
  if (calls.length === 0) {
    warnings.push({
      code: 'EMPTY',
      message: 'The call history in this backup holds no calls (for this period); nothing was written.',
    });
    return { kind: 'calls', items: 0, files: [], out: target, format, warnings };
  }
  const folder = await OutputFolder.create(path.dirname(target));
  const rows = rowsOf(calls, name);
  const body =
    format === 'json'
      ? `${JSON.stringify({ calls: rows.map((r) => Object.fromEntries(HEADER.map((h, i) => [h, r[i]]))) }, null, 2)}\n`
      : CSV_BOM + [HEADER, ...rows].map(csvLine).join('');
  await folder.write(path.basename(target), body);
  return { kind: 'calls', items: calls.length, files: folder.written, out: target, format, warnings };
}
